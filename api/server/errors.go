package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorBody is the JSON body of every API error, on every HTTP route.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes one error. Messages never carry stack traces or
// internal details: internal errors say only "internal error".
type ErrorDetail struct {
	// Code is the gRPC status code name, such as NOT_FOUND.
	Code string `json:"code"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Message is a human-readable explanation.
	Message string `json:"message"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"request_id,omitempty"`
}

var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
	codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
	codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
	codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
}

// CodeName returns the canonical name of c.
func CodeName(c codes.Code) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return "UNKNOWN"
}

// WriteError writes the JSON error body for status code c.
func WriteError(w http.ResponseWriter, r *http.Request, c codes.Code, msg string) {
	writeError(w, r, c, runtime.HTTPStatusFromCode(c), msg)
}

// WriteTooLarge writes the error for a request body over the size limit
// (HTTP 413, code RESOURCE_EXHAUSTED).
func WriteTooLarge(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, codes.ResourceExhausted, http.StatusRequestEntityTooLarge, "request body too large")
}

func writeError(w http.ResponseWriter, r *http.Request, c codes.Code, st int, msg string) {
	if c == codes.Internal || c == codes.Unknown || c == codes.DataLoss {
		msg = "internal error"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(st)
	_ = json.NewEncoder(w).Encode(ErrorBody{Error: ErrorDetail{Code: CodeName(c), Status: st, Message: msg, RequestID: RequestID(r.Context())}})
}

// gatewayError is the grpc-gateway error handler: the same body as WriteError.
func gatewayError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		if v := append(md.HeaderMD.Get("retry-after"), md.TrailerMD.Get("retry-after")...); len(v) > 0 {
			w.Header().Set("Retry-After", v[0])
		}
	}
	s, ok := status.FromError(err)
	if !ok {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteTooLarge(w, r)
			return
		}
		s = status.New(codes.Unknown, err.Error())
	}
	c := s.Code()
	msg := s.Message()
	if c == codes.InvalidArgument && strings.Contains(msg, "http: request body too large") {
		WriteTooLarge(w, r)
		return
	}
	// The gateway reports unparsable bodies and parameters as InvalidArgument,
	// unknown routes as NotFound/Unimplemented: keep those messages.
	if c == codes.Unimplemented && r.Method != http.MethodPost {
		c = codes.NotFound
		msg = "no such route: " + r.URL.Path
	}
	WriteError(w, r, c, msg)
}
