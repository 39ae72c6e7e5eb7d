package metrics

// Class is the outcome class of one request. Every request lands in exactly
// one class; every class but OK counts as an error.
type Class uint8

// The outcome classes. Their names are part of the JSON summary contract.
const (
	OK Class = iota
	Status4xx
	Status5xx
	Timeout
	ConnRefused
	ConnReset
	DNS
	TLS
	CheckFailed // the response arrived but a check marked it as failed
	// PollTimeout is the last attempt of a poll step (until:) whose
	// condition did not hold within its time (within:); the attempts
	// before it are classed as any request is.
	PollTimeout
	// WSClosed is a WebSocket exchange cut short by the server's close
	// frame (whatever its status): the socket it needed is gone.
	WSClosed
	// GRPCStatus is a gRPC call the server answered with an error status
	// other than those classed as timeout or a connection error
	// (NotFound, Internal, Unimplemented …): the error message names the
	// code (protocol/grpc).
	GRPCStatus
	Other
	NumClasses // number of classes, not a class
)

var classNames = [NumClasses]string{
	OK:          "ok",
	Status4xx:   "status_4xx",
	Status5xx:   "status_5xx",
	Timeout:     "timeout",
	ConnRefused: "connection_refused",
	ConnReset:   "connection_reset",
	DNS:         "dns",
	TLS:         "tls",
	CheckFailed: "check_failed",
	PollTimeout: "poll_timeout",
	WSClosed:    "ws_closed",
	GRPCStatus:  "grpc_status",
	Other:       "other",
}

// String returns the class name used in summaries, e.g. "status_5xx".
func (c Class) String() string {
	if c < NumClasses {
		return classNames[c]
	}
	return "unknown"
}

// IsError reports whether the class counts as a failed request.
func (c Class) IsError() bool { return c != OK }

// ErrorClasses lists every error class in a stable order.
func ErrorClasses() []Class {
	out := make([]Class, 0, NumClasses-1)
	for c := Status4xx; c < NumClasses; c++ {
		out = append(out, c)
	}
	return out
}

// StatusClass returns the class of an HTTP response status.
func StatusClass(status int) Class {
	switch {
	case status >= 500:
		return Status5xx
	case status >= 400:
		return Status4xx
	default:
		return OK
	}
}
