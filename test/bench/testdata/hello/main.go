// Command hello is the smallest realistic Go Lambda: it creates an ECS
// client at init (like the real functions) and echoes the event. The bench
// measures it as the reference between the null runtime's floor and the
// real functions (docs/performance.md), and its own tests run on it.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	client := ecs.NewFromConfig(cfg)
	lambda.Start(func(ctx context.Context, event json.RawMessage) (map[string]any, error) {
		return map[string]any{"ok": true, "region": client.Options().Region, "bytes": len(event)}, nil
	})
}
