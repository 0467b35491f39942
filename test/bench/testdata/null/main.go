// Command null is the cheapest possible Lambda runtime: it speaks the
// Runtime API with net/http only (no aws-lambda-go, no AWS SDK) and echoes
// each event. Its cold start under the RIE is the floor that the emulator
// and process start-up add to every measured function.
package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
)

func main() {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	for {
		resp, err := http.Get(base + "next")
		if err != nil {
			os.Exit(1)
		}
		event, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		out, err := http.Post(base+id+"/response", "application/json", bytes.NewReader(event))
		if err != nil {
			os.Exit(1)
		}
		out.Body.Close()
	}
}
