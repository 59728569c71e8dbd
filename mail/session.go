package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// transientError marks a failure that leaves the mail in the inbox for a
// later attempt over the same connection (Sink or attachment store down).
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }

func (e *transientError) Unwrap() error { return e.err }

// session runs one connection. healthy reports whether it got as far as a
// complete check of the inbox (so the reconnect backoff starts over).
func (i *Intake) session(ctx context.Context) (healthy bool, err error) {
	c, err := i.dial(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if err := i.ensureFolders(c); err != nil {
		return false, err
	}
	caps := c.Caps()
	useIdle := !i.cfg.DisableIdle && (caps.Has(imap.CapIdle) || caps.Has(imap.CapIMAP4rev2))
	mode := "poll"
	if useIdle {
		mode = "idle"
	}
	i.update(func(s *MailboxStatus) { s.Connected, s.Mode = true, mode })
	i.log.Info("mail: mailbox connected", "mode", mode, "move", caps.Has(imap.CapMove) || caps.Has(imap.CapIMAP4rev2))

	retry := i.cfg.BackoffMin
	for {
		err := i.drain(ctx, c)
		if ctx.Err() != nil {
			return healthy, ctx.Err()
		}
		wait := i.cfg.PollInterval
		var te *transientError
		switch {
		case errors.As(err, &te):
			healthy = true
			wait = min(jitter(retry), wait)
			retry = min(2*retry, i.cfg.BackoffMax)
			i.noteError(err)
			i.update(func(s *MailboxStatus) { s.Retries++ })
			i.log.Warn("mail: transient failure, mail left in the inbox", "err", err, "retry_in", wait)
		case err != nil:
			return healthy, err
		default:
			healthy = true
			retry = i.cfg.BackoffMin
		}
		if err := i.waitForMail(ctx, c, useIdle, wait); err != nil {
			return healthy, err
		}
	}
}

// dial connects, secures and logs in. Every step stops when ctx is done: the
// connection is closed under it, so a shutdown never waits for a slow server.
func (i *Intake) dial(ctx context.Context) (*imapclient.Client, error) {
	opts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					i.signal()
				}
			},
		},
	}
	host, _, _ := net.SplitHostPort(i.cfg.Addr)
	tlsCfg := &tls.Config{}
	if i.cfg.TLSConfig != nil {
		tlsCfg = i.cfg.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = host
	}
	opts.TLSConfig = tlsCfg
	dctx, cancel := context.WithTimeout(ctx, i.cfg.DialTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", i.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("mail: dial %s: %w", i.cfg.Addr, err)
	}
	// Until login is done, ctx (and the dial timeout) close the connection.
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	defer stop()
	var c *imapclient.Client
	switch i.cfg.TLS {
	case TLSNone:
		c = imapclient.New(conn, opts)
	case TLSStartTLS:
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			conn.Close()
			return nil, fmt.Errorf("mail: starttls with %s: %w", i.cfg.Addr, err)
		}
	default:
		if tlsCfg.NextProtos == nil {
			tlsCfg.NextProtos = []string{"imap"}
		}
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("mail: tls with %s: %w", i.cfg.Addr, err)
		}
		c = imapclient.New(tc, opts)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("mail: greeting from %s: %w", i.cfg.Addr, err)
	}
	pw := i.cfg.Password.Reveal()
	if caps := c.Caps(); caps.Has(imap.CapLoginDisabled) && caps.Has(imap.AuthCap(sasl.Plain)) {
		err = c.Authenticate(sasl.NewPlainClient("", i.cfg.User, pw))
	} else {
		err = c.Login(i.cfg.User, pw).Wait()
	}
	if err != nil {
		c.Close()
		// The server's answer never contains the password; the command is not logged.
		return nil, fmt.Errorf("mail: login as %s at %s: %w", i.cfg.User, i.cfg.Addr, err)
	}
	if !stop() {
		c.Close() // ctx ended just as the login finished
		return nil, fmt.Errorf("mail: connect to %s: %w", i.cfg.Addr, context.Cause(dctx))
	}
	return c, nil
}

func (i *Intake) signal() {
	select {
	case i.wake <- struct{}{}:
	default:
	}
}

// ensureFolders creates the Processed and Quarantine folders when missing.
func (i *Intake) ensureFolders(c *imapclient.Client) error {
	for _, name := range []string{i.cfg.Processed, i.cfg.Quarantine} {
		list, err := c.List("", name, nil).Collect()
		if err != nil {
			return fmt.Errorf("mail: list %q: %w", name, err)
		}
		if len(list) > 0 {
			continue
		}
		if err := c.Create(name, nil).Wait(); err != nil {
			return fmt.Errorf("mail: create %q: %w", name, err)
		}
		i.log.Info("mail: created folder", "folder", name)
	}
	return nil
}

// waitForMail returns when new mail may have arrived: on an EXISTS during
// IDLE, or after d.
func (i *Intake) waitForMail(ctx context.Context, c *imapclient.Client, useIdle bool, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	if !useIdle {
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-i.wake:
		case <-c.Closed():
			return errors.New("mail: connection closed")
		}
		return nil
	}
	idle, err := c.Idle()
	if err != nil {
		return fmt.Errorf("mail: idle: %w", err)
	}
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-i.wake:
	case <-c.Closed():
	}
	if err := idle.Close(); err != nil {
		return fmt.Errorf("mail: idle done: %w", err)
	}
	if err := idle.Wait(); err != nil {
		return fmt.Errorf("mail: idle: %w", err)
	}
	return nil
}
