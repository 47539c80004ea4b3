package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"

	"github.com/parcelflow/conveyor/store"
)

// GitHub's delivery headers.
const (
	EventHeader    = "X-GitHub-Event"
	DeliveryHeader = "X-GitHub-Delivery"
)

// errUnsupportedMedia marks a body in a content type GitHub does not send.
var errUnsupportedMedia = errors.New("unsupported content type")

// decodeDelivery turns a verified request's headers and body into the
// delivery to store: the event type and delivery ID from the headers, the
// JSON payload (unwrapped from a form body if the App is configured for
// form encoding), and the action, installation and repository for logs and
// `conveyor inbox list`.
func decodeDelivery(h http.Header, body []byte) (store.Delivery, error) {
	event := h.Get(EventHeader)
	if err := checkToken(EventHeader, event, 64, func(r rune) bool {
		return r >= 'a' && r <= 'z' || r == '_'
	}); err != nil {
		return store.Delivery{}, err
	}
	id := h.Get(DeliveryHeader)
	if err := checkToken(DeliveryHeader, id, 100, func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':'
	}); err != nil {
		return store.Delivery{}, err
	}
	payload, err := payloadOf(h.Get("Content-Type"), body)
	if err != nil {
		return store.Delivery{}, err
	}
	var meta struct {
		Action       string `json:"action"`
		Installation *struct {
			ID int64 `json:"id"`
		} `json:"installation"`
		Repository *struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(payload, &meta); err != nil {
		return store.Delivery{}, fmt.Errorf("payload is not a JSON object: %w", err)
	}
	d := store.Delivery{ID: id, EventType: event, Action: meta.Action, Payload: payload}
	if meta.Installation != nil {
		d.InstallationID = meta.Installation.ID
	}
	if meta.Repository != nil {
		d.Repository = meta.Repository.FullName
	}
	return d, nil
}

func payloadOf(contentType string, body []byte) ([]byte, error) {
	if contentType == "" {
		return body, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("%w %q", errUnsupportedMedia, contentType)
	}
	switch mt {
	case "application/json":
		return body, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("form body: %w", err)
		}
		p := form.Get("payload")
		if p == "" {
			return nil, errors.New("form body has no payload field")
		}
		return []byte(p), nil
	}
	return nil, fmt.Errorf("%w %q (want application/json)", errUnsupportedMedia, mt)
}

func checkToken(header, v string, maxLen int, ok func(rune) bool) error {
	if v == "" {
		return fmt.Errorf("missing %s header", header)
	}
	if len(v) > maxLen {
		return fmt.Errorf("%s header is longer than %d characters", header, maxLen)
	}
	for _, r := range v {
		if !ok(r) {
			return fmt.Errorf("%s header has an unexpected character %q", header, r)
		}
	}
	return nil
}
