package workflow

import (
	"encoding/json"
	"io"
)

// Decode reads one JSON value of a contract type from r into v strictly:
// a field the type does not define is an error, as it is for the functions
// whose input is the contract (lambda.WithDisallowUnknownFields), so that
// a producer and a consumer out of step fail instead of losing a field.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
