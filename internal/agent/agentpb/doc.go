// Package agentpb holds the messages and the Connect service of the
// remote-agent protocol (agent.proto, surge.agent.v1). Package
// agent/remote speaks it; nothing else should. The generated agent.pb.go
// and agentpbconnect/agent.connect.go are committed, so building needs
// no protoc; after editing agent.proto run `go generate` here (needs
// protoc, protoc-gen-go v1.36.12 and protoc-gen-connect-go v1.21.1).
package agentpb

//go:generate protoc -I . --go_out=. --go_opt=paths=source_relative --connect-go_out=. --connect-go_opt=paths=source_relative agent.proto
