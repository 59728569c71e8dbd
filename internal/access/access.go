package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel errors; compare with errors.Is.
var (
	// ErrUnauthenticated: no credential, or one that is unknown, revoked or malformed.
	ErrUnauthenticated = errors.New("access: no valid credential")
	// ErrNotFound: no API key has that id.
	ErrNotFound = errors.New("access: no such API key")
)

// Scope is what a credential may do. Admin includes write, write includes read.
type Scope string

// The scopes, weakest first.
const (
	ScopeRead  Scope = "read"  // GET every /v1 resource the binding allows
	ScopeWrite Scope = "write" // also create and change orders, send, replay, offline windows
	ScopeAdmin Scope = "admin" // also API keys, integrations as data, audit
)

func (s Scope) rank() int {
	switch s {
	case ScopeRead:
		return 1
	case ScopeWrite:
		return 2
	case ScopeAdmin:
		return 3
	}
	return 0
}

// Valid reports whether s is one of the three scopes.
func (s Scope) Valid() bool { return s.rank() > 0 }

// AdminID is the KeyID of the bootstrap admin principal.
const AdminID = "admin-token"

// Principal is who presented a credential: the key's id and name, its scopes
// and its binding (at most one of Partner and Vendor is set).
type Principal struct {
	// KeyID is the API key's id, or AdminID for the bootstrap token.
	KeyID string `json:"id"`
	// Name is the key's name as its creator gave it ("bootstrap admin" for the token).
	Name   string  `json:"name"`
	Scopes []Scope `json:"scopes"`
	// Partner binds the key to the orders of one partner.
	Partner string `json:"partner,omitempty"`
	// Vendor binds the key to the orders sent to one vendor (and its own
	// vendor resources).
	Vendor string `json:"vendor,omitempty"`
}

// Can reports whether the principal holds scope s (admin includes write,
// write includes read).
func (p *Principal) Can(s Scope) bool {
	if p == nil {
		return false
	}
	for _, h := range p.Scopes {
		if h.rank() >= s.rank() {
			return true
		}
	}
	return false
}

// Bound reports whether the principal is limited to one partner or vendor.
func (p *Principal) Bound() bool { return p != nil && (p.Partner != "" || p.Vendor != "") }

// Who is how the audit trail names the principal: "name (id)".
func (p *Principal) Who() string {
	if p == nil {
		return "system"
	}
	return p.Name + " (" + p.KeyID + ")"
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal ctx carries, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// Verifier turns a presented credential (the bearer token as sent) into the
// principal it stands for, or fails with ErrUnauthenticated. The console and
// the /v1 middleware both call it.
type Verifier interface {
	Verify(ctx context.Context, presented string) (*Principal, error)
}

// Key is an API key's record as listed; its secret is never kept.
type Key struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scopes    []Scope   `json:"scopes"`
	Partner   string    `json:"partner,omitempty"`
	Vendor    string    `json:"vendor,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// NewKey is what an admin asks for.
type NewKey struct {
	Name    string  `json:"name"`
	Scopes  []Scope `json:"scopes"`
	Partner string  `json:"partner,omitempty"`
	Vendor  string  `json:"vendor,omitempty"`
}

// FieldError names the field of a NewKey that is wrong and the rule it broke.
type FieldError struct{ Field, Rule string }

func (e *FieldError) Error() string { return e.Field + " " + e.Rule }

var nameRe = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// Validate checks a NewKey, naming the first wrong field.
func (n *NewKey) Validate() error {
	if s := strings.TrimSpace(n.Name); s == "" || len(s) > 128 {
		return &FieldError{"name", "is required (at most 128 characters)"}
	}
	if len(n.Scopes) == 0 {
		return &FieldError{"scopes", "must list at least one of read, write, admin"}
	}
	for i, s := range n.Scopes {
		if !s.Valid() {
			return &FieldError{fmt.Sprintf("scopes[%d]", i), fmt.Sprintf("must be read, write or admin, got %q", string(s))}
		}
	}
	if n.Partner != "" && n.Vendor != "" {
		return &FieldError{"vendor", "a key is bound to one partner or one vendor, not both"}
	}
	if n.Partner != "" && !nameRe.MatchString(n.Partner) {
		return &FieldError{"partner", "must be a partner name ([a-z0-9_-]{1,64})"}
	}
	if n.Vendor != "" && !nameRe.MatchString(n.Vendor) {
		return &FieldError{"vendor", "must be a vendor name ([a-z0-9_-]{1,64})"}
	}
	if (n.Partner != "" || n.Vendor != "") && scopesHold(n.Scopes, ScopeAdmin) {
		return &FieldError{"scopes", "a key bound to a partner or vendor cannot be admin"}
	}
	return nil
}

func scopesHold(ss []Scope, s Scope) bool {
	for _, h := range ss {
		if h == s {
			return true
		}
	}
	return false
}

// Options configures Keys. A nil *Options is the zero value.
type Options struct {
	// Prefix starts every key; default "sog".
	Prefix string
	// AdminToken is the bootstrap admin bearer token; empty means none (only API keys work).
	AdminToken string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Keys stores API keys hashed in Redis and verifies presented credentials.
// It is safe for concurrent use.
type Keys struct {
	rdb   redis.UniversalClient
	k     keys
	admin [32]byte
	has   bool
	now   func() time.Time
}

var _ Verifier = (*Keys)(nil)

// NewKeys returns the key store over rdb.
func NewKeys(rdb redis.UniversalClient, opt *Options) *Keys {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Prefix == "" {
		o.Prefix = "sog"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ks := &Keys{rdb: rdb, k: keys{prefix: o.Prefix}, now: o.Now}
	if o.AdminToken != "" {
		ks.admin, ks.has = sha256.Sum256([]byte(o.AdminToken)), true
	}
	return ks
}

// tokenPrefix starts every API key, so a leaked one is recognisable (secret scanners).
const tokenPrefix = "sogk_"

// Create stores a new API key and returns its record and the token, which is
// shown this once: only its SHA-256 is kept. by names the creating principal.
func (s *Keys) Create(ctx context.Context, n NewKey, by string) (*Key, string, error) {
	if err := n.Validate(); err != nil {
		return nil, "", err
	}
	idb := make([]byte, 8)
	secret := make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return nil, "", fmt.Errorf("access: random: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return nil, "", fmt.Errorf("access: random: %w", err)
	}
	id := hex.EncodeToString(idb)
	token := tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256([]byte(token))
	scopes := dedupe(n.Scopes)
	key := &Key{ID: id, Name: strings.TrimSpace(n.Name), Scopes: scopes, Partner: n.Partner, Vendor: n.Vendor,
		CreatedAt: s.now().UTC().Truncate(time.Second), CreatedBy: by}
	ss := make([]string, len(scopes))
	for i, sc := range scopes {
		ss[i] = string(sc)
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.k.key(id), "name", key.Name, "scopes", strings.Join(ss, ","), "partner", key.Partner,
			"vendor", key.Vendor, "created_at", key.CreatedAt.Format(time.RFC3339), "created_by", by,
			"hash", hex.EncodeToString(sum[:]))
		p.SAdd(ctx, s.k.index(), id)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("access: store key: %w", err)
	}
	return key, token, nil
}

func dedupe(ss []Scope) []Scope {
	out := []Scope{}
	for _, s := range []Scope{ScopeRead, ScopeWrite, ScopeAdmin} {
		if scopesHold(ss, s) {
			out = append(out, s)
		}
	}
	return out
}

// List returns every API key, oldest first; secrets are never returned.
func (s *Keys) List(ctx context.Context) ([]*Key, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.index()).Result()
	if err != nil {
		return nil, fmt.Errorf("access: list keys: %w", err)
	}
	out := make([]*Key, 0, len(ids))
	for _, id := range ids {
		k, _, err := s.load(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Get returns one API key's record.
func (s *Keys) Get(ctx context.Context, id string) (*Key, error) {
	k, _, err := s.load(ctx, id)
	return k, err
}

// Revoke deletes the API key id; it stops working at once on every replica.
func (s *Keys) Revoke(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("key %q: %w", id, ErrNotFound)
	}
	var del *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, s.k.key(id))
		p.SRem(ctx, s.k.index(), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("access: revoke key: %w", err)
	}
	if del.Val() == 0 {
		return fmt.Errorf("key %q: %w", id, ErrNotFound)
	}
	return nil
}

func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

func (s *Keys) load(ctx context.Context, id string) (*Key, string, error) {
	if !validID(id) {
		return nil, "", fmt.Errorf("key %q: %w", id, ErrNotFound)
	}
	m, err := s.rdb.HGetAll(ctx, s.k.key(id)).Result()
	if err != nil {
		return nil, "", fmt.Errorf("access: read key: %w", err)
	}
	if len(m) == 0 {
		return nil, "", fmt.Errorf("key %q: %w", id, ErrNotFound)
	}
	k := &Key{ID: id, Name: m["name"], Partner: m["partner"], Vendor: m["vendor"], CreatedBy: m["created_by"]}
	k.CreatedAt, _ = time.Parse(time.RFC3339, m["created_at"])
	for _, sc := range strings.Split(m["scopes"], ",") {
		if Scope(sc).Valid() {
			k.Scopes = append(k.Scopes, Scope(sc))
		}
	}
	return k, m["hash"], nil
}

// Verify returns the principal of a presented bearer token: the bootstrap
// admin token, or an API key that exists and whose SHA-256 matches
// (compared in constant time). Anything else fails with ErrUnauthenticated.
func (s *Keys) Verify(ctx context.Context, presented string) (*Principal, error) {
	if presented == "" || len(presented) > 512 {
		return nil, ErrUnauthenticated
	}
	sum := sha256.Sum256([]byte(presented))
	if s.has && subtle.ConstantTimeCompare(sum[:], s.admin[:]) == 1 {
		return &Principal{KeyID: AdminID, Name: "bootstrap admin", Scopes: []Scope{ScopeAdmin}}, nil
	}
	rest, ok := strings.CutPrefix(presented, tokenPrefix)
	if !ok || len(rest) < 18 || rest[16] != '_' {
		return nil, ErrUnauthenticated
	}
	k, hash, err := s.load(ctx, rest[:16])
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	want, err := hex.DecodeString(hash)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return nil, ErrUnauthenticated
	}
	return &Principal{KeyID: k.ID, Name: k.Name, Scopes: k.Scopes, Partner: k.Partner, Vendor: k.Vendor}, nil
}
