package partners

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// BenchmarkEMGUpdate measures an EMG Update end to end (body checks, RSA
// signature verification, mapping, commit through intake to Redis, signed
// Ack) against a bare gin handler that parses the same body and does one
// Redis write, in the same run and on the same Redis. Both report req/s.
// The requests are signed before the timer starts (signing is the
// partner's cost). Run with GATEWAY_INTEGRATION=1 to add a real redis-server.
func BenchmarkEMGUpdate(b *testing.B) {
	type redisCase struct {
		name string
		rdb  func(b *testing.B) redis.UniversalClient
	}
	cases := []redisCase{{"miniredis", func(b *testing.B) redis.UniversalClient {
		_, c := testutil.MiniRedis(b)
		return c
	}}}
	if testutil.Integration() {
		cases = append(cases, redisCase{"redis-server", func(b *testing.B) redis.UniversalClient {
			return testutil.StartRedis(b).Client()
		}})
	}
	for _, rc := range cases {
		b.Run(rc.name+"/gateway", func(b *testing.B) {
			rdb := rc.rdb(b)
			svc := intake.New(store.New(rdb, nil), nil)
			r := newRig(b, intakeBackend("bench", svc), nil, nil)
			ack := func(body string) (int, string) {
				req := httptest.NewRequest(http.MethodPost, "/partners/emg/messages", bytes.NewReader([]byte(body)))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				r.engine.ServeHTTP(w, req)
				return w.Code, w.Body.String()
			}
			// Steady state: every ticket gets at most four updates (an order's
			// document, and so each commit and Ack render, grows with its messages).
			// BreakFix tickets, as the platform creates them (an EMG Create
			// makes managed-service tickets, which BreakFix Updates may not address).
			for t := 0; t < tickets(b.N); t++ {
				o := &model.Order{Partner: "emg", Company: "globex", ServiceType: "breakfix", Refs: model.Refs{Requestor: fmt.Sprintf("R-%d", t)},
					Fields: map[string]model.Field{"description": {Value: "bench ticket"}}}
				if _, _, err := svc.CreateOrder(context.Background(), o); err != nil {
					b.Fatalf("create ticket %d: %v", t, err)
				}
			}
			bodies := emgUpdates(b, r, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if code, body := ack(bodies[i]); code != 202 {
					b.Fatalf("update %d = %d %s", i, code, body)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
		b.Run(rc.name+"/bare-gin", func(b *testing.B) {
			rdb := rc.rdb(b)
			r := newRig(b, newFakeBackend(nil), nil, nil)
			e := gin.New()
			e.POST("/bare", func(c *gin.Context) {
				body, err := c.GetRawData()
				if err != nil {
					c.Status(http.StatusBadRequest)
					return
				}
				var env struct {
					Task struct {
						ID string `json:"Id"`
					} `json:"Task"`
				}
				if err := json.Unmarshal(body, &env); err != nil {
					c.Status(http.StatusBadRequest)
					return
				}
				if err := rdb.Set(c.Request.Context(), "bare:"+env.Task.ID, body, 0).Err(); err != nil {
					c.Status(http.StatusServiceUnavailable)
					return
				}
				c.Status(http.StatusAccepted)
			})
			bodies := emgUpdates(b, r, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest(http.MethodPost, "/bare", bytes.NewReader([]byte(bodies[i])))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				if w.Code != 202 {
					b.Fatalf("bare %d = %d", i, w.Code)
				}
			}
			b.StopTimer()
			if n, _ := rdb.DBSize(context.Background()).Result(); n < int64(b.N) {
				b.Fatalf("bare handler wrote %d keys, want %d", n, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// tickets is how many tickets n updates are spread over.
func tickets(n int) int { return (n + 3) / 4 }

// emgUpdates returns n signed BreakFix Update envelopes with distinct Task
// ids, spread over the tickets R-0 … R-<tickets(n)-1>.
func emgUpdates(b *testing.B, r *rig, n int) []string {
	b.Helper()
	states := []string{"InProgress", "Pending Customer Input", "InProgress", "Open"}
	out := make([]string, n)
	for i := range out {
		body := fmt.Sprintf(`{"RequestorId":"R-%d","ServicerId":"1-199912345789","State":%q,"Description":"Ticket 1-199912345789 has been updated (%d)"}`, i%tickets(n), states[i/tickets(n)%len(states)], i)
		out[i] = r.emgEnvelope(emgTask(fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "Update", "BreakFix", body))
	}
	return out
}
