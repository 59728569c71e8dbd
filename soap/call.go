package soap

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
)

// Call is one authenticated, validated operation call.
type Call struct {
	// Operation is the operation name.
	Operation string
	// Params holds each parameter element received, by name: strings as sent,
	// int as a decimal, boolean as "true"/"false", dateTime trimmed. An
	// optional parameter that was absent or xsi:nil is missing from the map.
	Params map[string]string
	// Username is the authenticated user.
	Username string
	// Version is "1.1" or "1.2".
	Version string
	// Action is the SOAPAction (1.1) or action parameter (1.2) received, unquoted; may be empty.
	Action string
	// MessageID is the WS-Addressing MessageID header, when the client sent one.
	MessageID string
	// Raw is the request body as received (at most Options.MaxBodyBytes,
	// without a byte order mark), with wsse:Password contents replaced by
	// "[redacted]": it may be kept for audit.
	Raw []byte

	op *Operation // the declaration, for Document's types
}

// Digest returns a stable hex SHA-256 of the operation and its parameters
// (not the user, version or envelope bytes): two calls with the same content
// have the same digest, so a backend can use it as the idempotency key.
func (c *Call) Digest() string {
	keys := make([]string, 0, len(c.Params))
	for k := range c.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	writeField := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	writeField(c.Operation)
	for _, k := range keys {
		writeField(k)
		writeField(c.Params[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Document returns the call as the JSON document the mappings translate:
// {"operation": ..., "params": {...}, "username": ...}. Parameters declared
// int are JSON numbers and boolean JSON booleans, as the mapping reads them;
// the others are strings.
func (c *Call) Document() []byte {
	params := make(map[string]any, len(c.Params))
	for k, v := range c.Params {
		params[k] = v
		if c.op == nil {
			continue
		}
		for _, p := range c.op.Params {
			if p.Name != k {
				continue
			}
			switch p.Type {
			case TypeInt:
				params[k] = json.Number(v)
			case TypeBoolean:
				params[k] = v == "true"
			}
		}
	}
	b, err := json.Marshal(struct {
		Operation string         `json:"operation"`
		Params    map[string]any `json:"params"`
		Username  string         `json:"username"`
	}{c.Operation, params, c.Username})
	if err != nil { // strings, validated numbers and booleans always marshal
		panic("soap: marshal call document: " + err.Error())
	}
	return b
}
