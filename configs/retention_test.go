package configs

import (
	"strings"
	"testing"
	"time"
)

func TestRetentionDefaultsAndValidation(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	c, err := Load([]byte("redis: {prefix: sog}\n"), noEnv)
	if err != nil {
		t.Fatalf("Load(no retention section) = %v", err)
	}
	r := c.Retention
	if r.Events != 720*time.Hour || r.Deliveries != 720*time.Hour || r.Dead != 720*time.Hour || r.Fences != 720*time.Hour || r.JanitorEvery != 10*time.Minute {
		t.Fatalf("retention defaults = %+v, want 720h each and janitor_every 10m", r)
	}
	for doc, want := range map[string]string{
		"retention: {events: 5m}":         "retention.events",
		"retention: {dead: -1h}":          "retention.dead",
		"retention: {janitor_every: 48h}": "retention.janitor_every",
		"retention: {fences: 30m}":        "retention.fences",
		"retention: {deliverys: 720h}":    "deliverys",
	} {
		if _, err := Load([]byte(doc+"\n"), noEnv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) = %v, want an error naming %s", doc, err, want)
		}
	}
}
