package chat

import (
	"strings"
	"testing"
)

// The check refuses what Chatbot drops: each case breaks one documented
// rule of a valid payload.
func TestValidateChatbotRefusesUndocumentedPayloads(t *testing.T) {
	const valid = `{"version":"1.0","source":"custom","id":"x","content":{"textType":"client-markdown","title":"t","description":"d","nextSteps":["a"],"keywords":["k"]},"metadata":{"threadId":"th","summary":"s","eventType":"e","relatedResources":["arn:aws:s3:::b"],"additionalContext":{"k":"v"}}}`
	if err := ValidateChatbot([]byte(valid)); err != nil {
		t.Fatalf("a documented payload is refused: %v", err)
	}
	for want, payload := range map[string]string{
		`version must be "1.0"`:                   strings.Replace(valid, `"1.0"`, `"2.0"`, 1),
		`source must be "custom"`:                 strings.Replace(valid, `"custom"`, `"aws.ecs"`, 1),
		`content.textType must be`:                strings.Replace(valid, `client-markdown`, `markdown`, 1),
		`content.title is required`:               strings.Replace(valid, `"title":"t",`, ``, 1),
		`content.description is empty`:            strings.Replace(valid, `"description":"d"`, `"description":""`, 1),
		`content.nextSteps is not a list`:         strings.Replace(valid, `["a"]`, `"a"`, 1),
		`metadata.threadid is not a documented`:   strings.Replace(valid, `threadId`, `threadid`, 1),
		`metadata.additionalContext is not an`:    strings.Replace(valid, `{"k":"v"}`, `{"k":1}`, 1),
		`content.body is not a documented field`:  strings.Replace(valid, `"title":"t"`, `"title":"t","body":"b"`, 1),
		`metadata.relatedResources is not a list`: strings.Replace(valid, `["arn:aws:s3:::b"]`, `[1]`, 1),
	} {
		err := ValidateChatbot([]byte(payload))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", payload, err, want)
		}
	}
}
