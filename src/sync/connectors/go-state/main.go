// A Go connector that uses state and checkpoints (Switchboard's additions to c1-core's protocol):
// it reads SyncRequest.state ({"page": N}) to go on from page N, and calls
// CallbackHandler.Checkpoint after every `every` pages. Options (JSON): {"pages": N, "perPage": M,
// "every": K, "exitAfter": P (exit the process before page P), "prefix": "s"}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "sbinterop/proto"
)

var handshake = plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "BASIC_PLUGIN", MagicCookieValue: "hello"}

type options struct {
	Pages     int    `json:"pages"`
	PerPage   int    `json:"perPage"`
	Every     int    `json:"every"`
	ExitAfter *int   `json:"exitAfter"`
	Prefix    string `json:"prefix"`
}

type state struct {
	Page int `json:"page"`
}

type connector struct {
	broker *plugin.GRPCBroker
	logger hclog.Logger
}

func (c *connector) Sync(ctx context.Context, req *pb.SyncRequest) (*pb.EndSync, error) {
	var o options
	if err := json.Unmarshal([]byte(req.Options), &o); err != nil {
		return nil, fmt.Errorf("bad options: %v", err)
	}
	if o.PerPage == 0 {
		o.PerPage = 10
	}
	if o.Every == 0 {
		o.Every = 1
	}
	if o.Prefix == "" {
		o.Prefix = "s"
	}
	var s state
	if req.State != "" {
		if err := json.Unmarshal([]byte(req.State), &s); err != nil {
			return nil, fmt.Errorf("bad state %q: %v", req.State, err)
		}
	}
	c.logger.Info("sync starting", "from_page", s.Page, "pages", o.Pages)
	conn, err := c.broker.Dial(req.CallbackHandlerServer)
	if err != nil {
		return nil, fmt.Errorf("dial callback handler: %v", err)
	}
	defer conn.Close()
	callback := pb.NewCallbackHandlerClient(conn)
	sent := 0
	for p := s.Page; p < o.Pages; p++ {
		if o.ExitAfter != nil && *o.ExitAfter == p {
			c.logger.Error("the source went away, exiting", "page", p)
			os.Exit(3)
		}
		objects := make([]*pb.DataObject, o.PerPage)
		for i := range objects {
			objects[i] = &pb.DataObject{RemoteId: fmt.Sprintf("%s-%d-%d", o.Prefix, p, i), ResourceName: fmt.Sprintf("page %d", p)}
		}
		if _, err := callback.Upsert(ctx, &pb.SyncResponse{Response: objects}); err != nil {
			return nil, fmt.Errorf("upsert page %d: %v", p+1, err)
		}
		sent++
		if (p+1)%o.Every == 0 || p+1 == o.Pages {
			next, _ := json.Marshal(state{Page: p + 1})
			if _, err := callback.Checkpoint(ctx, &pb.CheckpointRequest{State: string(next)}); err != nil {
				return nil, fmt.Errorf("checkpoint after page %d: %v", p+1, err)
			}
		}
	}
	return &pb.EndSync{Metadata: fmt.Sprintf(`{"from":%d,"sent":%d}`, s.Page, sent)}, nil
}

type connectorPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	logger hclog.Logger
}

func (p *connectorPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterConnectorServer(s, &connector{broker: broker, logger: p.logger})
	return nil
}

func (p *connectorPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return pb.NewConnectorClient(c), nil
}

func main() {
	logger := hclog.New(&hclog.LoggerOptions{Name: "go-state", Level: hclog.Debug, Output: os.Stderr, JSONFormat: true})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         map[string]plugin.Plugin{"connector": &connectorPlugin{logger: logger}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          logger,
	})
}
