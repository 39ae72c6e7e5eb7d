// Package snapshotpb holds the protobuf messages of the encoded
// metrics.Snapshot (snapshot.proto). Use metrics.EncodeSnapshot and
// metrics.DecodeSnapshot rather than these types: they check the version
// and the limits. The generated snapshot.pb.go is committed, so building
// needs no protoc; after editing snapshot.proto run `go generate` here
// (needs protoc and protoc-gen-go v1.36.12).
package snapshotpb

//go:generate sh -c "protoc -I . -I $(go list -m -f '{{.Dir}}' github.com/DataDog/sketches-go)/ddsketch/pb --go_out=. --go_opt=paths=source_relative --go_opt=Mddsketch.proto=github.com/DataDog/sketches-go/ddsketch/pb/sketchpb snapshot.proto"
