package main

import (
	"context"
	"encoding/json"
	"io/ioutil"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"

	pb "connector/proto"
)

// fakeHost records what syncItems sends, as Switchboard's CallbackHandler would receive it.
type fakeHost struct {
	pages   [][]*pb.DataObject
	cleaned bool
}

func (h *fakeHost) Upsert(ctx context.Context, in *pb.SyncResponse, opts ...grpc.CallOption) (*pb.Empty, error) {
	h.pages = append(h.pages, in.Response)
	return &pb.Empty{}, nil
}

func (h *fakeHost) Clean(ctx context.Context, in *pb.Empty, opts ...grpc.CallOption) (*pb.Empty, error) {
	h.cleaned = true
	return &pb.Empty{}, nil
}

func writeItems(t *testing.T, items string) string {
	dir, err := ioutil.TempDir("", "connector-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	file := filepath.Join(dir, "items.json")
	if err := ioutil.WriteFile(file, []byte(items), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestSendsItemsInPagesThenCleans(t *testing.T) {
	file := writeItems(t, `[{"id": 1, "name": "One"}, {"id": "b"}, {"id": 3, "team": "x"}]`)
	host := &fakeHost{}
	options, _ := json.Marshal(map[string]interface{}{"file": file, "pageSize": 2})
	metadata, err := syncItems(context.Background(), string(options), host)
	if err != nil {
		t.Fatal(err)
	}
	if len(host.pages) != 2 || len(host.pages[0]) != 2 || len(host.pages[1]) != 1 {
		t.Fatalf("want pages of 2 and 1, got %v", host.pages)
	}
	first := host.pages[0][0]
	if first.RemoteId != "1" || first.ResourceName != "One" || !strings.Contains(first.Metadata, `"name":"One"`) {
		t.Fatalf("unexpected first object %+v", first)
	}
	if host.pages[0][1].RemoteId != "b" || host.pages[1][0].RemoteId != "3" {
		t.Fatalf("unexpected remote ids %v", host.pages)
	}
	if !host.cleaned {
		t.Fatal("Clean was not called")
	}
	if metadata != `{"items":3}` {
		t.Fatalf("metadata %s", metadata)
	}
}

func TestRefusesBadInput(t *testing.T) {
	noID := writeItems(t, `[{"name": "no id"}]`)
	cases := map[string]string{
		`{"pageSize": 0}`:               "pageSize must be 1..10000",
		`{"file": "/nonexistent.json"}`: "cannot read /nonexistent.json",
		`not json`:                      "not valid JSON",
		`{"file": "` + noID + `"}`:      `has no "id"`,
	}
	for options, want := range cases {
		_, err := syncItems(context.Background(), options, &fakeHost{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("options %s: want an error containing %q, got %v", options, want, err)
		}
	}
}
