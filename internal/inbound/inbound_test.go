package inbound

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

func TestKey(t *testing.T) {
	body := []byte(`{"status":"late"}`)
	digest := Key("", body, "", 0, false)
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf(`Key("", body) = %q, want a sha256: digest`, digest)
	}
	cases := []struct {
		name             string
		id, scope        string
		body             []byte
		index            int
		split            bool
		want, wantNotKey string
	}{
		{name: "message id wins over content", id: "task-1", body: body, want: "task-1"},
		{name: "same id, other content", id: "task-1", body: []byte(`{"other":1}`), want: "task-1"},
		{name: "digest", body: body, want: digest},
		{name: "digest with scope", body: body, scope: "@abc", want: digest + "@abc"},
		{name: "split item", id: "m", body: body, index: 2, split: true, want: "m#2"},
		{name: "split digest item", body: body, index: 0, split: true, want: digest + "#0"},
		{name: "other content, other digest", body: []byte(`{"status":"on time"}`), wantNotKey: digest},
	}
	for _, c := range cases {
		got := Key(c.id, c.body, c.scope, c.index, c.split)
		if c.want != "" && got != c.want {
			t.Errorf("%s: Key(%q, %s, %q, %d, %v) = %q, want %q", c.name, c.id, c.body, c.scope, c.index, c.split, got, c.want)
		}
		if c.wantNotKey != "" && got == c.wantNotKey {
			t.Errorf("%s: Key = %q, want another key", c.name, got)
		}
	}
}

// recordSink records what it is asked to commit.
type recordSink struct {
	mu   sync.Mutex
	got  []*model.Inbound
	fail map[string]error // by Target.Requestor
}

func (s *recordSink) Commit(_ context.Context, in *model.Inbound) (*model.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[in.Target.Requestor]; err != nil {
		return nil, err
	}
	s.got = append(s.got, in)
	return &model.Outcome{Order: &model.Order{ID: "o-" + in.Target.Requestor}, Created: true}, nil
}

// fixedMapping answers every partner with tr.
type fixedMapping struct{ tr Translator }

func (f fixedMapping) Translator(string) Translator { return f.tr }

type translatorFunc func(mappings.Input) (*mappings.Batch, error)

func (f translatorFunc) Translate(in mappings.Input) (*mappings.Batch, error) { return f(in) }

func item(i int, ref, msgID string) mappings.Item {
	return mappings.Item{Index: i, Key: ref, Kind: "update", Inbound: &model.Inbound{Partner: "p", Kind: "update", MessageID: msgID,
		Target: model.Target{Requestor: ref}, Event: model.EventOrderUpdated, Raw: []byte("elem-" + ref)}}
}

func TestReceive(t *testing.T) {
	ctx := context.Background()
	body := []byte(`{"x":1}`)
	digest := Key("", body, "", 0, false)
	single := translatorFunc(func(in mappings.Input) (*mappings.Batch, error) {
		return &mappings.Batch{Items: []mappings.Item{item(0, "A", "from-mapping")}}, nil
	})
	noID := translatorFunc(func(in mappings.Input) (*mappings.Batch, error) {
		return &mappings.Batch{Items: []mappings.Item{item(0, "A", "")}}, nil
	})
	split := translatorFunc(func(in mappings.Input) (*mappings.Batch, error) {
		bad := mappings.Item{Index: 1, Key: "B", Err: &mappings.RuleError{Field: "status", Msg: "unknown", Kind: model.ErrInvalid}}
		return &mappings.Batch{Split: true, Items: []mappings.Item{item(0, "A", ""), bad, item(2, "C", "")}}, nil
	})
	cases := []struct {
		name     string
		tr       Translator
		msg      Message
		fail     map[string]error
		wantKeys []string
		wantIDs  []string
		wantErr  error
		check    func(t *testing.T, rs []Result, got []*model.Inbound)
	}{
		{name: "envelope id wins", tr: single, msg: Message{MessageID: "wsa-1"}, wantKeys: []string{"wsa-1"}, wantIDs: []string{"wsa-1"}},
		{name: "mapping id when the envelope has none", tr: single, wantKeys: []string{"from-mapping"}, wantIDs: []string{"from-mapping"}},
		{name: "digest when nobody gives an id", tr: noID, wantKeys: []string{digest}, wantIDs: []string{""}},
		{name: "digest scoped", tr: noID, msg: Message{Scope: "@o1"}, wantKeys: []string{digest + "@o1"}},
		{name: "split: items alone, raw per element", tr: split, wantKeys: []string{digest + "#0", digest + "#2"},
			check: func(t *testing.T, rs []Result, got []*model.Inbound) {
				if len(rs) != 3 || rs[1].Err == nil || !errors.Is(rs[1].Err, ErrUntranslatable) || !Permanent(rs[1].Err) {
					t.Fatalf("results = %+v, want item 1 untranslatable", rs)
				}
				var re *mappings.RuleError
				if !errors.As(rs[1].Err, &re) || re.Field != "status" {
					t.Fatalf("item 1 error %v does not unwrap to the RuleError", rs[1].Err)
				}
				if string(got[0].Raw) != "elem-A" {
					t.Fatalf("raw = %q, want the element", got[0].Raw)
				}
			}},
		{name: "single protocol refuses a batch", tr: split, msg: Message{Single: true}, wantErr: ErrUntranslatable},
		{name: "protocol raw, protocol and warnings", tr: single, msg: Message{Raw: []byte("envelope"), Warnings: []string{"w"}},
			check: func(t *testing.T, rs []Result, got []*model.Inbound) {
				if string(got[0].Raw) != "envelope" || got[0].Protocol != model.ProtocolSOAP || len(got[0].Warnings) != 1 {
					t.Fatalf("inbound = %+v", got[0])
				}
			}},
		{name: "transient commit error", tr: noID, fail: map[string]error{"A": errors.New("redis down")}, wantKeys: []string{},
			check: func(t *testing.T, rs []Result, _ []*model.Inbound) {
				if rs[0].Err == nil || Permanent(rs[0].Err) {
					t.Fatalf("err = %v, want a transient error", rs[0].Err)
				}
			}},
		{name: "mapping panics", tr: translatorFunc(func(mappings.Input) (*mappings.Batch, error) { panic("bug") }), wantErr: ErrUntranslatable},
		{name: "mapping refuses the whole message", tr: translatorFunc(func(mappings.Input) (*mappings.Batch, error) {
			return nil, errors.New("split path is not an array: " + model.ErrInvalid.Error())
		}), wantErr: model.ErrInvalid},
		{name: "no mapping", tr: nil, wantErr: ErrNoMapping},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := &recordSink{fail: c.fail}
			var maps Mappings = fixedMapping{c.tr}
			s := New(maps, sink, nil)
			msg := c.msg
			msg.Partner = "p"
			msg.Input = mappings.Input{Protocol: model.ProtocolSOAP, Body: body}
			rs, err := s.Receive(ctx, msg)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("Receive() error = %v, want %v", err, c.wantErr)
				}
				if c.wantErr != ErrNoMapping && !Permanent(err) {
					t.Fatalf("Receive() error %v is not permanent", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Receive() error = %v", err)
			}
			if c.wantKeys != nil {
				var keys []string
				for _, in := range sink.got {
					keys = append(keys, in.IdempotencyKey)
				}
				if strings.Join(keys, ",") != strings.Join(c.wantKeys, ",") {
					t.Fatalf("keys = %q, want %q", keys, c.wantKeys)
				}
			}
			for i, id := range c.wantIDs {
				if sink.got[i].MessageID != id {
					t.Fatalf("MessageID = %q, want %q", sink.got[i].MessageID, id)
				}
			}
			if c.check != nil {
				c.check(t, rs, sink.got)
			}
		})
	}
}
