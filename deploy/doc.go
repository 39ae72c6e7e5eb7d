// Package deploy holds what runs Surge past one machine: the container
// image's build (../Dockerfile, ../.dockerignore), Kubernetes manifests
// (kubernetes/: the server as a StatefulSet with its store on a volume and a
// Service, agents as a Deployment, the Secrets they read) and systemd units
// for plain hosts (systemd/). docs/distributed.md walks through both.
//
// The package has no Go API. Its tests are the cluster and the image
// builder this repository does not have: they decode every manifest
// strictly into the Kubernetes API types (a misspelt field fails), check
// the invariants the docs promise (non-root, read-only root, probes on the
// health endpoint, the store on the volume --data names, Secrets that exist
// and ship empty, agents pointed at the server's Service), parse every
// command the manifests and units run with Surge's own flags, and run the
// Dockerfile's go build from the context .dockerignore leaves.
package deploy
