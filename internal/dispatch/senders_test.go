package dispatch

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/testutil"
)

// TestSlowDeliveryHoldsBackNobody runs the vendor's senders while its first
// request hangs: every other delivery is sent and recorded Success meanwhile
// (acknowledged as it finishes, not when the hung one does), and the hung
// one completes once the vendor answers.
func TestSlowDeliveryHoldsBackNobody(t *testing.T) {
	suite(t, func(_ *configs.VendorConfig, o *Options) { o.Dispatch.Workers = 3 }, func(t *testing.T, f *fixture) {
		hang := make(chan struct{})
		f.vendor.before = func(n int, r *http.Request) {
			if n == 0 {
				<-hang
			}
		}
		const n = 12
		for i := 0; i < n; i++ {
			f.order(t, fmt.Sprint("s", i), nil)
			f.send(t, fmt.Sprint("s", i))
		}
		ctx, cancel := context.WithCancel(f.ctx)
		stopped := make(chan struct{})
		go func() { _ = f.svc.Run(ctx); close(stopped) }()
		defer func() { cancel(); <-stopped }()

		success := func() (ok int, sending []string) {
			for i := 0; i < n; i++ {
				ds, err := f.svc.Deliveries(f.ctx, fmt.Sprint("s", i))
				testutil.Must(t, err)
				if ds[0].Status == model.DeliverySuccess {
					ok++
				} else {
					sending = append(sending, ds[0].OrderID)
				}
			}
			return ok, sending
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, sending := success()
			if ok == n-1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("while one delivery hangs, %d of %d others succeeded (still sending: %v), want all of them", ok, n-1, sending)
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(hang)
		for ok, _ := success(); ok != n; ok, _ = success() {
			if time.Now().After(deadline) {
				t.Fatalf("after the vendor answered the hung request, %d of %d succeeded, want all", ok, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
