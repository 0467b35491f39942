package workflow

import (
	"strings"
	"testing"
)

func TestDecodeRefusesUnknownFields(t *testing.T) {
	var req SweepRequest
	if err := Decode(strings.NewReader(`{"action":"inventory"}`), &req); err != nil || req.Action != "inventory" {
		t.Fatalf("%+v, %v", req, err)
	}
	if err := Decode(strings.NewReader(`{"action":"inventory","actoin":"x"}`), &req); err == nil || !strings.Contains(err.Error(), `"actoin"`) {
		t.Fatalf("an unknown field: %v, want an error naming it", err)
	}
}
