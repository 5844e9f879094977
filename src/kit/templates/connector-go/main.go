// {{name}}: a Switchboard sync connector in Go. Switchboard starts it (./connector, from the
// manifest) once per sync; HashiCorp's go-plugin serves it over gRPC, as c1-core's connectors are.
// What is yours: the options and syncItems.
//
// It reads the items of a JSON file (sample.json in its folder by default) and sends them in pages
// through the host's CallbackHandler. To sync a real source, replace readItems with calls to its
// API, page by page.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"os"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "connector/proto"
)

// The handshake every Switchboard (and c1-core) host expects.
var handshake = plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "BASIC_PLUGIN", MagicCookieValue: "hello"}

// Options are the account's options (switchboard account add --options '{...}').
type Options struct {
	// File to read: absolute, or relative to the connector's folder (its working directory).
	File string `json:"file"`
	// Objects per page sent to Switchboard.
	PageSize int `json:"pageSize"`
}

func parseOptions(text string) (Options, error) {
	o := Options{File: "sample.json", PageSize: 5}
	if text != "" {
		if err := json.Unmarshal([]byte(text), &o); err != nil {
			return o, fmt.Errorf("the options are not valid JSON: %v", err)
		}
	}
	if o.File == "" {
		return o, fmt.Errorf("option file must not be empty")
	}
	if o.PageSize < 1 || o.PageSize > 10000 {
		return o, fmt.Errorf("option pageSize must be 1..10000, got %d", o.PageSize)
	}
	return o, nil
}

func readItems(o Options) ([]map[string]interface{}, error) {
	data, err := ioutil.ReadFile(o.File)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", o.File, err)
	}
	var items []map[string]interface{}
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("%s must hold a list of items with an \"id\": %v", o.File, err)
	}
	return items, nil
}

// upserter is what Sync sends pages to: the host's CallbackHandler, or a test's fake.
type upserter interface {
	Upsert(ctx context.Context, in *pb.SyncResponse, opts ...grpc.CallOption) (*pb.Empty, error)
	Clean(ctx context.Context, in *pb.Empty, opts ...grpc.CallOption) (*pb.Empty, error)
}

// syncItems sends every item, pageSize at a time, then asks the host to forget what it did not
// send (items gone from the source). It returns the run's metadata.
func syncItems(ctx context.Context, optionsText string, host upserter) (string, error) {
	o, err := parseOptions(optionsText)
	if err != nil {
		return "", err
	}
	items, err := readItems(o)
	if err != nil {
		return "", err
	}
	page := make([]*pb.DataObject, 0, o.PageSize)
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		if _, err := host.Upsert(ctx, &pb.SyncResponse{Response: page}); err != nil {
			return fmt.Errorf("upsert: %v", err)
		}
		page = make([]*pb.DataObject, 0, o.PageSize)
		return nil
	}
	for i, item := range items {
		id, ok := item["id"]
		if !ok || id == nil || fmt.Sprint(id) == "" {
			return "", fmt.Errorf("item %d of %s has no \"id\"", i+1, o.File)
		}
		metadata, _ := json.Marshal(item)
		name, _ := item["name"].(string)
		page = append(page, &pb.DataObject{RemoteId: fmt.Sprint(id), ResourceName: name, Metadata: string(metadata)})
		if len(page) == o.PageSize {
			if err := flush(); err != nil {
				return "", err
			}
		}
	}
	if err := flush(); err != nil {
		return "", err
	}
	if _, err := host.Clean(ctx, &pb.Empty{}); err != nil {
		return "", fmt.Errorf("clean: %v", err)
	}
	return fmt.Sprintf(`{"items":%d}`, len(items)), nil
}

type connector struct {
	broker *plugin.GRPCBroker
	logger hclog.Logger
}

// Sync is the RPC Switchboard calls: dial its CallbackHandler through the broker, then sync.
func (c *connector) Sync(ctx context.Context, req *pb.SyncRequest) (*pb.EndSync, error) {
	conn, err := c.broker.Dial(req.CallbackHandlerServer)
	if err != nil {
		return nil, fmt.Errorf("dial the host's callback handler: %v", err)
	}
	defer conn.Close()
	metadata, err := syncItems(ctx, req.Options, pb.NewCallbackHandlerClient(conn))
	if err != nil {
		c.logger.Error("sync failed", "error", err)
		return nil, err
	}
	c.logger.Info("synced", "metadata", metadata)
	return &pb.EndSync{Metadata: metadata}, nil
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
	// hclog JSON on stderr: Switchboard puts these lines into its own log.
	logger := hclog.New(&hclog.LoggerOptions{Name: "{{name}}", Level: hclog.Info, Output: os.Stderr, JSONFormat: true})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         map[string]plugin.Plugin{"connector": &connectorPlugin{logger: logger}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          logger,
	})
}
