// A go-plugin host built with HashiCorp's go-plugin (Debian's v1.0.1), doing what c1-core's host
// does: launch a connector with `sh -c`, serve CallbackHandler on a brokered listener, call Sync.
// Usage: go-host [-mtls] -options JSON -command CMD
// Prints one JSON line per page ({"page":n,"objects":m,"first":id}) and a last line
// {"metadata":...,"pages":n,"objects":m}; on failure {"error":...} and exit code 2.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sync"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "sbinterop/proto"
)

var handshake = plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "BASIC_PLUGIN", MagicCookieValue: "hello"}

type callbackHandler struct {
	mu      sync.Mutex
	pages   int
	objects int
}

func (h *callbackHandler) Upsert(ctx context.Context, res *pb.SyncResponse) (*pb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pages++
	h.objects += len(res.Response)
	first := ""
	if len(res.Response) > 0 {
		first = res.Response[0].RemoteId
	}
	line, _ := json.Marshal(map[string]interface{}{"page": h.pages, "objects": len(res.Response), "first": first})
	fmt.Println(string(line))
	return &pb.Empty{}, nil
}

func (h *callbackHandler) Clean(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	fmt.Println(`{"clean":true}`)
	return &pb.Empty{}, nil
}

type connectorClient struct {
	client pb.ConnectorClient
	broker *plugin.GRPCBroker
}

type connectorPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (p *connectorPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	return fmt.Errorf("this program is a host only")
}

func (p *connectorPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return &connectorClient{client: pb.NewConnectorClient(c), broker: broker}, nil
}

func fail(err error) {
	line, _ := json.Marshal(map[string]string{"error": err.Error()})
	fmt.Println(string(line))
	os.Exit(2)
}

func main() {
	mtls := flag.Bool("mtls", false, "negotiate AutoMTLS")
	options := flag.String("options", "{}", "options passed to Sync")
	command := flag.String("command", "", "connector command, run with sh -c")
	flag.Parse()
	logger := hclog.New(&hclog.LoggerOptions{Name: "go-host", Level: hclog.Debug, Output: os.Stderr, JSONFormat: true})
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          map[string]plugin.Plugin{"connector": &connectorPlugin{}},
		Cmd:              exec.Command("sh", "-c", *command),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         *mtls,
		Logger:           logger,
	})
	defer client.Kill()
	rpcClient, err := client.Client()
	if err != nil {
		client.Kill()
		fail(err)
	}
	raw, err := rpcClient.Dispense("connector")
	if err != nil {
		client.Kill()
		fail(err)
	}
	c := raw.(*connectorClient)
	handler := &callbackHandler{}
	id := c.broker.NextId()
	go c.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		pb.RegisterCallbackHandlerServer(s, handler)
		return s
	})
	end, err := c.client.Sync(context.Background(), &pb.SyncRequest{Options: *options, CallbackHandlerServer: id})
	if err != nil {
		client.Kill()
		fail(err)
	}
	handler.mu.Lock()
	line, _ := json.Marshal(map[string]interface{}{"metadata": end.Metadata, "pages": handler.pages, "objects": handler.objects})
	handler.mu.Unlock()
	fmt.Println(string(line))
	client.Kill()
}
