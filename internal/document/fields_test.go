package document

import (
	"reflect"
	"testing"
)

func TestCheckFieldNames(t *testing.T) {
	type item struct {
		Name string `json:"name"`
	}
	type doc struct {
		Mode  string `json:"mode,omitempty"`
		Inner struct {
			Size int `json:"size"`
		} `json:"inner"`
		Items []item `json:"items"`
	}
	tests := []struct {
		js, want string // want "" = no error
	}{
		{`{"mode":"a","inner":{"size":1},"items":[{"name":"x"}]}`, ""},
		{`{"Mode":"a"}`, `unknown field "Mode"`},
		{`{"inner":{"Size":1}}`, `unknown field "inner.Size"`},
		{`{"items":[{"name":"x"},{"nAme":"y"}]}`, `unknown field "items[1].nAme"`},
		{`[1]`, "the document must be an object: json: cannot unmarshal array into Go value of type map[string]json.RawMessage"},
	}
	for _, tt := range tests {
		err := CheckFieldNames([]byte(tt.js), reflect.TypeFor[doc]())
		if (err == nil) != (tt.want == "") || (err != nil && err.Error() != tt.want) {
			t.Errorf("CheckFieldNames(%s) = %v, want %q", tt.js, err, tt.want)
		}
	}
}
