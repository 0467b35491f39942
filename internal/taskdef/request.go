package taskdef

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// registerOperation is the SDK's own schema for RegisterTaskDefinition.
var registerOperation = smithy.NewOperationSchema(schemas.RegisterTaskDefinition,
	schemas.RegisterTaskDefinitionRequest, schemas.RegisterTaskDefinitionResponse)

// sdkProtocol is the wire protocol an ecs.Client uses by default (awsJson
// 1.1). Taking it from a client's resolved options, rather than building
// one, keeps RequestJSON byte-identical to what the client sends. The
// client is never used to make a call.
var sdkProtocol = sync.OnceValue(func() smithyhttp.ClientProtocol {
	return ecs.New(ecs.Options{Region: "us-east-1"}).Options().Protocol
})

// serialize runs the SDK's serializer for in and returns the body stream.
func serialize(in *ecs.RegisterTaskDefinitionInput) (io.Reader, error) {
	req, ok := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	if !ok {
		return nil, errors.New("taskdef: unexpected smithy request type")
	}
	if err := sdkProtocol().SerializeRequest(context.Background(), registerOperation, in, req); err != nil {
		return nil, fmt.Errorf("taskdef: serialize register request: %w", err)
	}
	if body := req.GetStream(); body != nil {
		return body, nil
	}
	return bytes.NewReader(nil), nil
}

// RequestJSON returns in as the compact JSON request body the SDK sends
// for RegisterTaskDefinition, produced by the SDK's own serializer without
// any network use. A nil input yields nil. Map keys come out in Go's
// random map order, so compare bodies by length or after decoding.
//
// The body contains environment values and secrets: never log it.
func RequestJSON(in *ecs.RegisterTaskDefinitionInput) ([]byte, error) {
	if in == nil {
		return nil, nil
	}
	body, err := serialize(in)
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("taskdef: read register request: %w", err)
	}
	return out, nil
}

// RequestSize is the size in bytes of in as the compact JSON request body
// the SDK sends (see RequestJSON); compare it with MaxRegisterBytes. A nil
// input has size 0. Serialization of these in-memory types cannot fail in
// practice; if it ever did, RequestSize reports MaxRegisterBytes+1 so the
// caller treats the request as too large rather than as fitting.
func RequestSize(in *ecs.RegisterTaskDefinitionInput) int {
	if in == nil {
		return 0
	}
	body, err := serialize(in)
	if err != nil {
		return MaxRegisterBytes + 1
	}
	if r, ok := body.(interface{ Len() int }); ok {
		return r.Len()
	}
	n, err := io.Copy(io.Discard, body)
	if err != nil {
		return MaxRegisterBytes + 1
	}
	return int(n)
}
