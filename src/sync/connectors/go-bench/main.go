// The sync-ingest benchmark's Go connector: the same versioned source as the TypeScript one
// (bench/sync-ingest/connector.ts), with the same objects (bench/sync-ingest/rows.ts), so the large
// benchmark's incremental re-sync can be timed with a connector that starts like c1-core's do.
// Options (JSON): {"pages": N, "perPage": M, "version": V}. Object i (page i/M, index i%M) was last
// changed in version V - ((V - i) mod 100), so each version changes 1% of them. With state
// {"version": S} only the objects changed after S are sent; without, all of them, then Clean.
// Either way it checkpoints {"version": V}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "sbinterop/proto"
)

var handshake = plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "BASIC_PLUGIN", MagicCookieValue: "hello"}

var pad = strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 5)[:180]

type options struct {
	Pages   int `json:"pages"`
	PerPage int `json:"perPage"`
	Version int `json:"version"`
}

type state struct {
	Version int `json:"version"`
}

type connector struct {
	broker *plugin.GRPCBroker
}

func object(page, index, version int) *pb.DataObject {
	return &pb.DataObject{
		RemoteId:     fmt.Sprintf("go-%d-%d", page, index),
		ResourceName: fmt.Sprintf("Go object %d/%d", page, index),
		Uri:          fmt.Sprintf("go://%d/%d", page, index),
		Metadata:     fmt.Sprintf(`{"page":%d,"index":%d,"version":%d,"pad":"%s"}`, page, index, version, pad),
	}
}

func (c *connector) Sync(ctx context.Context, req *pb.SyncRequest) (*pb.EndSync, error) {
	var o options
	if err := json.Unmarshal([]byte(req.Options), &o); err != nil {
		return nil, fmt.Errorf("bad options: %v", err)
	}
	if o.PerPage <= 0 || o.Pages < 0 {
		return nil, fmt.Errorf("bad options: pages must be >= 0 and perPage > 0")
	}
	var since *int
	if req.State != "" {
		var s state
		if err := json.Unmarshal([]byte(req.State), &s); err != nil {
			return nil, fmt.Errorf("bad state %q: %v", req.State, err)
		}
		since = &s.Version
	}
	conn, err := c.broker.Dial(req.CallbackHandlerServer)
	if err != nil {
		return nil, fmt.Errorf("dial callback handler: %v", err)
	}
	defer conn.Close()
	callback := pb.NewCallbackHandlerClient(conn)
	sent := 0
	page := make([]*pb.DataObject, 0, o.PerPage)
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		if _, err := callback.Upsert(ctx, &pb.SyncResponse{Response: page}); err != nil {
			return fmt.Errorf("upsert: %v", err)
		}
		sent += len(page)
		page = make([]*pb.DataObject, 0, o.PerPage)
		return nil
	}
	send := func(index int) error {
		page = append(page, object(index/o.PerPage, index%o.PerPage, o.Version))
		if len(page) == o.PerPage {
			return flush()
		}
		return nil
	}
	total := o.Pages * o.PerPage
	if since == nil {
		// A full refresh: every object as it is now, then forget the rest.
		for index := 0; index < total; index++ {
			if err := send(index); err != nil {
				return nil, err
			}
		}
	} else {
		// Incremental: only the objects changed in versions after `since`.
		changed := o.Version - *since
		if changed > 100 {
			changed = 100
		}
		for k := 0; k < changed; k++ {
			residue := ((o.Version-k)%100 + 100) % 100
			for index := residue; index < total; index += 100 {
				if err := send(index); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if since == nil {
		if _, err := callback.Clean(ctx, &pb.Empty{}); err != nil {
			return nil, fmt.Errorf("clean: %v", err)
		}
	}
	next, _ := json.Marshal(state{Version: o.Version})
	if _, err := callback.Checkpoint(ctx, &pb.CheckpointRequest{State: string(next)}); err != nil {
		return nil, fmt.Errorf("checkpoint: %v", err)
	}
	from := "null"
	if since != nil {
		from = fmt.Sprint(*since)
	}
	return &pb.EndSync{Metadata: fmt.Sprintf(`{"sent":%d,"since":%s,"version":%d}`, sent, from, o.Version)}, nil
}

type connectorPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (p *connectorPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterConnectorServer(s, &connector{broker: broker})
	return nil
}

func (p *connectorPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return pb.NewConnectorClient(c), nil
}

func main() {
	logger := hclog.New(&hclog.LoggerOptions{Name: "go-bench", Level: hclog.Info, Output: os.Stderr, JSONFormat: true})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         map[string]plugin.Plugin{"connector": &connectorPlugin{}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          logger,
	})
}
