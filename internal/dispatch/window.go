package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
)

// Window is a vendor's offline (maintenance) window, as declared in the hub.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Active is true when the window covers now.
	Active bool `json:"active"`
	// Remaining is the time left until End, as the notice says it ("2h 10m").
	Remaining string `json:"remaining,omitempty"`
}

// windowKeep is how long an ended window is remembered: deliveries it held
// that still fail are retried every OfflineRetryEvery without spending attempts.
const windowKeep = 30 * 24 * time.Hour

// PutWindow declares (or replaces) the vendor's offline window. While it
// covers now nothing is delivered to the vendor and nothing spends attempts;
// a shortened window releases at its new end, an extended one holds longer.
// A zero Start means now. It refuses an End that is not after Start and now.
func (s *Service) PutWindow(ctx context.Context, vendorName string, start, end time.Time) (*Window, error) {
	v, err := s.vendor(vendorName)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if start.IsZero() {
		start = now
	}
	if !end.After(start) {
		return nil, &model.ValidationError{Field: "end", Rule: fmt.Sprintf("must be after start (%s), got %s", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))}
	}
	if !end.After(now) {
		return nil, &model.ValidationError{Field: "end", Rule: fmt.Sprintf("must be in the future, got %s", end.UTC().Format(time.RFC3339))}
	}
	holdStart := start
	if !start.After(now) {
		holdStart = time.Time{}
	}
	// Record first: a crash before the hold leaves a declared window that the
	// next PutWindow repeats; the reverse would hold with no record to show.
	if err := s.saveWindow(ctx, v.name, start, end); err != nil {
		return nil, err
	}
	if err := s.q.HoldWindow(ctx, v.name, holdStart, end); err != nil {
		return nil, fmt.Errorf("dispatch: offline window of %s: %w", v.name, err)
	}
	s.log.Info("dispatch: offline window set", "vendor", v.name, "start", start.UTC(), "end", end.UTC())
	return s.windowView(start, end), nil
}

// GetWindow returns the vendor's open or coming offline window, or ErrNoWindow.
func (s *Service) GetWindow(ctx context.Context, vendorName string) (*Window, error) {
	v, err := s.vendor(vendorName)
	if err != nil {
		return nil, err
	}
	start, end, ok, err := s.loadWindow(ctx, v.name)
	if err != nil {
		return nil, err
	}
	if !ok || !end.After(s.now()) {
		return nil, fmt.Errorf("dispatch: %w", &model.NotFoundError{What: "offline window of vendor", ID: v.name, Err: ErrNoWindow})
	}
	return s.windowView(start, end), nil
}

// DeleteWindow cancels the vendor's open or coming window: held deliveries are
// released now. It returns ErrNoWindow when there is none.
func (s *Service) DeleteWindow(ctx context.Context, vendorName string) error {
	v, err := s.vendor(vendorName)
	if err != nil {
		return err
	}
	start, end, ok, err := s.loadWindow(ctx, v.name)
	if err != nil {
		return err
	}
	now := s.now()
	if !ok || !end.After(now) {
		return fmt.Errorf("dispatch: %w", &model.NotFoundError{What: "offline window of vendor", ID: v.name, Err: ErrNoWindow})
	}
	if start.After(now) {
		// A window that has not begun is forgotten: it held nothing.
		if err := s.rdb.Del(ctx, s.k.window(v.name)).Err(); err != nil {
			return fmt.Errorf("dispatch: cancel window of %s: %w", v.name, err)
		}
	} else if err := s.saveWindow(ctx, v.name, start, now); err != nil {
		// Ended now: deliveries it held that still fail are retried hourly.
		return err
	}
	if err := s.q.Release(ctx, v.name); err != nil {
		return fmt.Errorf("dispatch: cancel window of %s: %w", v.name, err)
	}
	s.log.Info("dispatch: offline window cancelled", "vendor", v.name)
	return nil
}

func (s *Service) saveWindow(ctx context.Context, vendor string, start, end time.Time) error {
	key := s.k.window(vendor)
	pipe := s.rdb.TxPipeline()
	pipe.HSet(ctx, key, "start", start.UnixMilli(), "end", end.UnixMilli(), "set", s.now().UnixMilli())
	pipe.PExpireAt(ctx, key, end.Add(windowKeep))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("dispatch: save window of %s: %w", vendor, err)
	}
	return nil
}

func (s *Service) loadWindow(ctx context.Context, vendor string) (start, end time.Time, ok bool, err error) {
	m, err := s.rdb.HGetAll(ctx, s.k.window(vendor)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return start, end, false, fmt.Errorf("dispatch: window of %s: %w", vendor, err)
	}
	if len(m) == 0 {
		return start, end, false, nil
	}
	a, _ := strconv.ParseInt(m["start"], 10, 64)
	b, _ := strconv.ParseInt(m["end"], 10, 64)
	return time.UnixMilli(a), time.UnixMilli(b), true, nil
}

func (s *Service) windowView(start, end time.Time) *Window {
	now := s.now()
	w := &Window{Start: start.UTC(), End: end.UTC(), Active: !start.After(now) && end.After(now)}
	if end.After(now) {
		w.Remaining = FormatRemaining(end.Sub(now))
	}
	return w
}

// FormatRemaining renders a duration the way the maintenance notice says it,
// rounded up to the minute: "2h 10m", "45m", "1d 3h 0m".
func FormatRemaining(d time.Duration) string {
	if d <= 0 {
		return "0m"
	}
	mins := ceilMinutes(d)
	days, hours, m := mins/(24*60), mins/60%24, mins%60
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd %dh ", days, hours)
	} else if hours > 0 {
		fmt.Fprintf(&b, "%dh ", hours)
	}
	fmt.Fprintf(&b, "%dm", m)
	return b.String()
}

// DefaultNotice is the maintenance notice used when the vendor's mapping has
// no maintenance_notice render; %s is the time remaining.
const DefaultNotice = "This Vendor's system is currently undergoing maintenance and cannot receive messages at this time. " +
	"The service order has been queued and will be sent when the vendor's maintenance is complete in %s."

// notice renders the vendor's maintenance notice (mapping render
// maintenance_notice, extra.remaining ("2h 10m"), extra.remaining_seconds,
// extra.until and extra.vendor), falling
// back to DefaultNotice.
func (s *Service) notice(v *vendor, o *model.Order, ev *model.Event, until time.Time, remaining time.Duration) string {
	rem := FormatRemaining(remaining)
	if s.r != nil {
		r, err := s.r.Render(v.cfg.Mapping, "maintenance_notice", o, ev, map[string]any{
			"remaining": rem, "remaining_seconds": ceilMinutes(remaining) * 60, "until": until.UTC().Format(time.RFC3339), "vendor": v.name})
		if err == nil && len(strings.TrimSpace(string(r.Body))) > 0 {
			return strings.TrimSpace(string(r.Body))
		}
	}
	return fmt.Sprintf(DefaultNotice, rem)
}

// Notice returns the maintenance notice the platform shows before Save and
// Send while the vendor is offline, and whether it is offline.
func (s *Service) Notice(ctx context.Context, vendorName string) (string, bool, error) {
	v, err := s.vendor(vendorName)
	if err != nil {
		return "", false, err
	}
	until, err := s.q.HoldOf(ctx, v.name)
	if err != nil || until == nil {
		return "", false, err
	}
	return s.notice(v, nil, nil, *until, until.Sub(s.now())), true, nil
}

// ceilMinutes is d in whole minutes, rounded up (the notice never says less
// time than is left).
func ceilMinutes(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Minute - 1) / time.Minute)
}
