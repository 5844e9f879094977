// A c1-core style connector built with HashiCorp's go-plugin (Debian's v1.0.1), for interop tests
// and the sync-ingest benchmark. Options (JSON): {"pages": N, "perPage": M, "failAfter": K,
// "exitAfter": K, "noCallback": true, "missingRemoteId": true}. Each page is sent with CallbackHandler.Upsert through the
// broker id the host gives in SyncRequest.callback_handler_server, as c1-core's connectors do.
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
	Pages      int  `json:"pages"`
	PerPage    int  `json:"perPage"`
	FailAfter  *int `json:"failAfter"`
	ExitAfter  *int `json:"exitAfter"`
	NoCallback bool `json:"noCallback"`
	// MissingRemoteID leaves the remote id of the second object of page 1 empty.
	MissingRemoteID bool `json:"missingRemoteId"`
}

type connector struct {
	broker *plugin.GRPCBroker
	logger hclog.Logger
}

func (c *connector) Sync(ctx context.Context, req *pb.SyncRequest) (*pb.EndSync, error) {
	var o options
	if req.Options != "" {
		if err := json.Unmarshal([]byte(req.Options), &o); err != nil {
			return nil, fmt.Errorf("bad options: %v", err)
		}
	}
	if o.PerPage == 0 {
		o.PerPage = 10
	}
	c.logger.Info("sync starting", "pages", o.Pages, "perPage", o.PerPage)
	if o.NoCallback {
		return &pb.EndSync{Metadata: `{"callback":false}`}, nil
	}
	conn, err := c.broker.Dial(req.CallbackHandlerServer)
	if err != nil {
		return nil, fmt.Errorf("dial callback handler: %v", err)
	}
	defer conn.Close()
	callback := pb.NewCallbackHandlerClient(conn)
	for p := 0; p < o.Pages; p++ {
		if o.ExitAfter != nil && *o.ExitAfter == p {
			c.logger.Error("the source went away, exiting", "page", p)
			os.Exit(3)
		}
		if o.FailAfter != nil && *o.FailAfter == p {
			return nil, fmt.Errorf("the source answered 503 on page %d", p+1)
		}
		objects := make([]*pb.DataObject, o.PerPage)
		for i := range objects {
			objects[i] = &pb.DataObject{
				RemoteId:     fmt.Sprintf("go-%d-%d", p, i),
				ResourceName: fmt.Sprintf("Go object %d/%d", p, i),
				Uri:          fmt.Sprintf("go://%d/%d", p, i),
				Metadata:     fmt.Sprintf(`{"page":%d,"index":%d,"pad":"%s"}`, p, i, "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"),
			}
		}
		if o.MissingRemoteID && p == 0 && len(objects) > 1 {
			objects[1].RemoteId = ""
		}
		if _, err := callback.Upsert(ctx, &pb.SyncResponse{Response: objects}); err != nil {
			return nil, fmt.Errorf("upsert page %d: %v", p+1, err)
		}
	}
	return &pb.EndSync{Metadata: fmt.Sprintf(`{"pages":%d,"perPage":%d}`, o.Pages, o.PerPage)}, nil
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
	logger := hclog.New(&hclog.LoggerOptions{Name: "go-interop", Level: hclog.Debug, Output: os.Stderr, JSONFormat: true})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         map[string]plugin.Plugin{"connector": &connectorPlugin{logger: logger}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          logger,
	})
}
