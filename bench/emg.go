package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"
)

// EMGSource is the seed's development Source GUID, which the shipped
// configuration accepts from EMG and sends in its Acks.
const EMGSource = "3e095d30-40ff-11e9-8959-5be078353003"

// EMGTicket returns the RequestorId of ticket i of a run.
func EMGTicket(i int) string { return "BENCH-" + strconv.Itoa(i) }

// EMGUpdates returns n BreakFix Update envelopes signed with key (as EMG
// signs them: RSA PKCS#1 v1.5 over the SHA-256 of the Task text), each with
// its own GUID Task Id, spread round robin over tickets EMGTicket(0) …
// EMGTicket(tickets-1). Signing is the sender's cost, so callers do it
// before they time anything.
func EMGUpdates(key *rsa.PrivateKey, n, tickets int) ([][]byte, error) {
	states := []string{"InProgress", "Pending Customer Input", "InProgress", "Open"}
	out := make([][]byte, n)
	for i := range out {
		body := fmt.Sprintf(`{"RequestorId":%q,"ServicerId":"1-199912345789","State":%q,"Description":"Ticket 1-199912345789 has been updated || IBX: AT3 || note %d"}`,
			EMGTicket(i%tickets), states[(i/tickets)%len(states)], i)
		task := `{"Id":"` + uuid.NewString() + `","Source":"` + EMGSource + `","Verb":"Update","Resource":"BreakFix",` +
			`"ContentType":"application/json","CreationTimeUTC":"2026-12-02T10:00:00.000Z","Version":"1.0","Body":` + body + `}`
		sum := sha256.Sum256([]byte(task))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			return nil, err
		}
		out[i] = []byte(`{"Task":` + task + `,"Signature":"` + base64.StdEncoding.EncodeToString(sig) + `"}`)
	}
	return out, nil
}

// BareEMG is the floor the gateway's EMG path is measured against: a plain
// net/http handler that does only the work no EMG receiver can avoid. It
// reads the body, verifies the sender's RSA signature over the Task, reads
// five fields with gjson (Id, Resource, RequestorId, State, Description),
// writes the ticket's state, its new message and the Task Id's fence to
// Redis in one MULTI/EXEC pipeline, and answers an Ack signed with
// RSA-2048.
type BareEMG struct {
	// Redis receives the writes, under Prefix.
	Redis  redis.UniversalClient
	Prefix string
	// Verify is the sender's public key, Sign our Ack key.
	Verify *rsa.PublicKey
	Sign   *rsa.PrivateKey
}

var _ http.Handler = (*BareEMG)(nil)

// ServeHTTP answers one EMG message.
func (h *BareEMG) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	task := gjson.GetBytes(body, "Task")
	sig, err := base64.StdEncoding.DecodeString(gjson.GetBytes(body, "Signature").Str)
	sum := sha256.Sum256([]byte(task.Raw))
	if err != nil || !task.IsObject() || rsa.VerifyPKCS1v15(h.Verify, crypto.SHA256, sum[:], sig) != nil {
		http.Error(w, "signature", http.StatusUnauthorized)
		return
	}
	f := task.Get(`[Id,Resource,Body.RequestorId,Body.State,Body.Description]`).Array()
	if len(f) != 5 || f[0].Str == "" || f[2].Str == "" {
		http.Error(w, "fields", http.StatusBadRequest)
		return
	}
	id, resource, ticket, state, desc := f[0].Str, f[1].Str, f[2].Str, f[3].Str, f[4].Str
	key := h.Prefix + "{" + ticket + "}"
	_, err = h.Redis.TxPipelined(r.Context(), func(p redis.Pipeliner) error {
		p.HSet(r.Context(), key, "state", state, "resource", resource, "task", id)
		p.RPush(r.Context(), key+":messages", desc)
		p.Set(r.Context(), key+":fence:"+id, "1", 24*time.Hour)
		return nil
	})
	if err != nil {
		http.Error(w, "redis", http.StatusServiceUnavailable)
		return
	}
	ack := make([]byte, 0, 768)
	ack = append(ack, `{"Id":"`...)
	ack = append(ack, uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:bare:ack:"+id)).String()...)
	ack = append(ack, `","Source":"`+EMGSource+`","Verb":"Ack","Resource":`...)
	ack = strconv.AppendQuote(ack, resource)
	ack = append(ack, `,"ContentType":"application/json","CreateTimeUTC":"`...)
	ack = time.Now().UTC().AppendFormat(ack, "2006-01-02T15:04:05.000Z")
	ack = append(ack, `","Version":"1.0","OriginationId":`...)
	ack = strconv.AppendQuote(ack, id)
	ack = append(ack, `,"OriginationVerb":"Update","Body":{"RequestorId":`...)
	ack = strconv.AppendQuote(ack, ticket)
	ack = append(ack, `,"ServicerId":"1-199912345789","StatusCode":202}}`...)
	asum := sha256.Sum256(ack)
	asig, err := rsa.SignPKCS1v15(nil, h.Sign, crypto.SHA256, asum[:])
	if err != nil {
		http.Error(w, "sign", http.StatusInternalServerError)
		return
	}
	out := make([]byte, 0, len(ack)+400)
	out = append(out, `{"Task":`...)
	out = append(out, ack...)
	out = append(out, `,"Signature":"`...)
	out = base64.StdEncoding.AppendEncode(out, asig)
	out = append(out, `"}`...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(out)
}

// LoadResult is one timed run of Load.
type LoadResult struct {
	Requests int
	Elapsed  time.Duration
	// Latencies are the sorted per-request times.
	Latencies []time.Duration
}

// Rate is requests per second.
func (r LoadResult) Rate() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Percentile returns the p-th percentile latency (0 < p <= 100).
func (r LoadResult) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p/100+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// Load posts each body once to url from senders concurrent goroutines and
// fails unless every answer has status want.
func Load(ctx context.Context, client *http.Client, url string, bodies [][]byte, senders, want int) (LoadResult, error) {
	var next atomic.Int64
	lat := make([]time.Duration, len(bodies))
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				code, body, err := post(ctx, client, url, bodies[i])
				lat[i] = time.Since(t0)
				if err == nil && code != want {
					err = fmt.Errorf("POST %s = %d %s, want %d", url, code, body, want)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	res := LoadResult{Requests: len(bodies), Elapsed: time.Since(start), Latencies: lat}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return res, firstErr
}

func post(ctx context.Context, client *http.Client, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// ProcessCPU returns the user plus system CPU time process pid has used so
// far, from /proc (Linux); 0 when it cannot be read.
func ProcessCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields count from after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ, 100 on every Linux the gateway runs on
	return time.Duration(ut+st) * time.Second / ticksPerSecond
}

// Stats are counters of redis-server's INFO stats.
type Stats struct {
	// Commands is total_commands_processed; Reads is total_reads_processed,
	// the reads from client sockets (a pipeline sent at once is about one).
	Commands, Reads int64
}

// RedisStats reads the counters (zero when INFO fails).
func RedisStats(ctx context.Context, rdb redis.UniversalClient) Stats {
	var st Stats
	info, err := rdb.Info(ctx, "stats").Result()
	if err != nil {
		return st
	}
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "total_commands_processed":
			st.Commands = n
		case "total_reads_processed":
			st.Reads = n
		}
	}
	return st
}

// Median returns the median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// CommandStats renders redis-server's INFO commandstats divided by n
// requests: per command, calls and microseconds per request, busiest first, on one line.
func CommandStats(ctx context.Context, rdb redis.UniversalClient, n int) string {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return err.Error()
	}
	type row struct {
		name        string
		calls, usec float64
	}
	var rows []row
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		r := row{name: strings.TrimPrefix(name, "cmdstat_")}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			f, _ := strconv.ParseFloat(v, 64)
			switch k {
			case "calls":
				r.calls = f / float64(n)
			case "usec":
				r.usec = f / float64(n)
			}
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].usec > rows[j].usec })
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s %.2f×%.0fµs; ", r.name, r.calls, r.usec)
	}
	return b.String()
}
