package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ValidateChatbot checks a custom notification against the fields Amazon Q
// Developer in chat applications (AWS Chatbot) documents for it ("Custom
// notifications using Amazon Q Developer in chat applications", Event
// schema and Parameter details,
// https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html):
// version must be "1.0" and source "custom"; content needs a title and a
// description; textType, when set, is "client-markdown"; nextSteps,
// keywords and relatedResources are lists of strings and
// additionalContext an object of strings; no other member exists. A
// message Chatbot cannot parse is dropped without an error, so every
// payload we render is checked in the golden tests.
func ValidateChatbot(payload []byte) error {
	var top map[string]json.RawMessage
	if err := strict(payload, &top); err != nil {
		return fmt.Errorf("chatbot: %w", err)
	}
	if err := members(top, "", map[string]bool{"version": true, "source": true, "id": false, "content": true, "metadata": false}); err != nil {
		return err
	}
	if err := constant(top["version"], "version", "1.0"); err != nil {
		return err
	}
	if err := constant(top["source"], "source", "custom"); err != nil {
		return err
	}
	if err := text(top["id"], "id", false); err != nil {
		return err
	}
	var content map[string]json.RawMessage
	if err := strict(top["content"], &content); err != nil {
		return fmt.Errorf("chatbot: content: %w", err)
	}
	if err := members(content, "content.", map[string]bool{"textType": false, "title": true, "description": true, "nextSteps": false, "keywords": false}); err != nil {
		return err
	}
	if tt, ok := content["textType"]; ok {
		if err := constant(tt, "content.textType", "client-markdown"); err != nil {
			return err
		}
	}
	for _, f := range []string{"title", "description"} {
		if err := text(content[f], "content."+f, true); err != nil {
			return err
		}
	}
	for _, f := range []string{"nextSteps", "keywords"} {
		if err := texts(content[f], "content."+f); err != nil {
			return err
		}
	}
	raw, ok := top["metadata"]
	if !ok {
		return nil
	}
	var meta map[string]json.RawMessage
	if err := strict(raw, &meta); err != nil {
		return fmt.Errorf("chatbot: metadata: %w", err)
	}
	if err := members(meta, "metadata.", map[string]bool{"threadId": false, "summary": false, "eventType": false, "relatedResources": false, "additionalContext": false}); err != nil {
		return err
	}
	for _, f := range []string{"threadId", "summary", "eventType"} {
		if err := text(meta[f], "metadata."+f, false); err != nil {
			return err
		}
	}
	if err := texts(meta["relatedResources"], "metadata.relatedResources"); err != nil {
		return err
	}
	if ac, ok := meta["additionalContext"]; ok {
		var m map[string]string
		if err := strict(ac, &m); err != nil {
			return fmt.Errorf("chatbot: metadata.additionalContext is not an object of strings: %w", err)
		}
	}
	return nil
}

func strict(raw json.RawMessage, into any) error {
	if raw == nil {
		return fmt.Errorf("missing")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// members checks that m has every required member and no unknown one.
func members(m map[string]json.RawMessage, path string, known map[string]bool) error {
	for k := range m {
		if _, ok := known[k]; !ok {
			return fmt.Errorf("chatbot: %s%s is not a documented field", path, k)
		}
	}
	for k, required := range known {
		if _, ok := m[k]; required && !ok {
			return fmt.Errorf("chatbot: %s%s is required", path, k)
		}
	}
	return nil
}

func constant(raw json.RawMessage, path, want string) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s != want {
		return fmt.Errorf("chatbot: %s must be %q, not %s", path, want, raw)
	}
	return nil
}

func text(raw json.RawMessage, path string, required bool) error {
	if raw == nil {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("chatbot: %s is not a string", path)
	}
	if required && s == "" {
		return fmt.Errorf("chatbot: %s is empty", path)
	}
	return nil
}

func texts(raw json.RawMessage, path string) error {
	if raw == nil {
		return nil
	}
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		return fmt.Errorf("chatbot: %s is not a list of strings", path)
	}
	return nil
}
