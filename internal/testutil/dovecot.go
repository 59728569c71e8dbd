package testutil

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DovecotUser and DovecotPassword log in to every Dovecot started by StartDovecot.
const (
	DovecotUser     = "gateway"
	DovecotPassword = "test-password"
)

// DovecotBinary returns the path of the dovecot binary: from PATH, else from
// /usr/sbin, /usr/local/sbin or /sbin (Debian installs it in /usr/sbin, which
// is often not on a non-root PATH). It returns "" when there is none.
func DovecotBinary() string {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, "dovecot")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// DovecotOptions tune StartDovecot. A nil pointer means the zero value.
type DovecotOptions struct {
	// Capability, when set, replaces the capabilities Dovecot announces after
	// login (imap_capability), e.g. "IMAP4rev1 UIDPLUS" to hide IDLE and MOVE
	// from the client. Default: Dovecot's own list.
	Capability string
}

// Dovecot is a real Dovecot IMAP server child process with a throwaway
// config, one passwd-file user (DovecotUser) and a maildir in a temp dir,
// listening on a random loopback port without TLS.
type Dovecot struct {
	t    testing.TB
	bin  string
	Dir  string
	Port int
	conf string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartDovecot starts Dovecot (see Dovecot) and stops it at cleanup. It skips
// unless GATEWAY_INTEGRATION=1 and fails when dovecot is not installed.
//
// As root (CI) the login process runs as dovenull and mail is stored as the
// dovecot user, as Debian's dovecot-core sets them up; as any other user
// everything runs as that user.
func StartDovecot(t testing.TB, opt *DovecotOptions) *Dovecot {
	t.Helper()
	RequireIntegration(t)
	if opt == nil {
		opt = &DovecotOptions{}
	}
	bin := DovecotBinary()
	if bin == "" {
		t.Fatalf("integration suite needs dovecot (Debian package dovecot-imapd); not found on PATH nor in /usr/sbin")
	}
	// Not t.TempDir: its parents are 0700, and as root Dovecot's unprivileged
	// processes must be able to traverse to the passwd file and the maildir.
	dir, err := os.MkdirTemp("", "gateway-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &Dovecot{t: t, bin: bin, Dir: dir, Port: FreePort(t)}
	if err := d.writeConfig(opt); err != nil {
		t.Fatalf("dovecot config: %v", err)
	}
	d.start()
	t.Cleanup(d.Stop)
	return d
}

func (d *Dovecot) writeConfig(opt *DovecotOptions) error {
	home := filepath.Join(d.Dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.Dir, "passwd"),
		[]byte(DovecotUser+":{PLAIN}"+DovecotPassword+"\n"), 0o600); err != nil {
		return err
	}
	var internalUser, loginUser, extra string
	var uid, gid int
	if os.Geteuid() == 0 {
		mailUser, err := user.Lookup("dovecot")
		if err != nil {
			return fmt.Errorf("running as root needs the dovecot system user (dovecot-core): %w", err)
		}
		if _, err := user.Lookup("dovenull"); err != nil {
			return fmt.Errorf("running as root needs the dovenull system user (dovecot-core): %w", err)
		}
		uid, _ = strconv.Atoi(mailUser.Uid)
		gid, _ = strconv.Atoi(mailUser.Gid)
		if err := os.Chmod(d.Dir, 0o711); err != nil {
			return err
		}
		if err := os.Chown(home, uid, gid); err != nil {
			return err
		}
		internalUser, loginUser = "dovecot", "dovenull"
		// The auth process reads the passwd file, which stays root's.
		extra = "service auth {\n  user = root\n}\nservice auth-worker {\n  user = root\n}\n"
	} else {
		me, err := user.Current()
		if err != nil {
			return err
		}
		uid, gid = os.Getuid(), os.Getgid()
		internalUser, loginUser = me.Username, me.Username
		extra = "service imap-login {\n  chroot =\n}\n"
	}
	if opt.Capability != "" {
		extra += "protocol imap {\n  imap_capability = " + opt.Capability + "\n}\n"
	}
	conf := fmt.Sprintf(`# Throwaway config written by internal/testutil.StartDovecot.
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
instance_name = gateway-test-%[2]d
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = %[3]s
default_internal_group = %[3]s
default_login_user = %[4]s
first_valid_uid = %[5]d
last_valid_uid = 0
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[5]d gid=%[6]d home=%[1]s/home/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
%[7]s`, d.Dir, d.Port, internalUser, loginUser, uid, gid, extra)
	if os.Geteuid() != 0 {
		// default_internal_group must name a group; use the user's own.
		if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
			conf = strings.Replace(conf, "default_internal_group = "+internalUser, "default_internal_group = "+g.Name, 1)
		}
	}
	d.conf = filepath.Join(d.Dir, "dovecot.conf")
	return os.WriteFile(d.conf, []byte(conf), 0o644)
}

func (d *Dovecot) start() {
	d.t.Helper()
	d.cmd = exec.Command(d.bin, "-F", "-c", d.conf)
	d.cmd.Dir = d.Dir
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("start dovecot: %v", err)
	}
	d.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(d.cmd, d.done)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if d.greets() {
			return
		}
		select {
		case <-d.done:
			d.t.Fatalf("dovecot exited at start: %s", d.Log())
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("dovecot did not answer on %s: %s", d.Addr(), d.Log())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// greets reports whether the server answers with an untagged OK.
func (d *Dovecot) greets() bool {
	c, err := net.DialTimeout("tcp", d.Addr(), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "* OK")
}

// Addr is host:port of the IMAP listener.
func (d *Dovecot) Addr() string { return "127.0.0.1:" + strconv.Itoa(d.Port) }

// Log returns the server's log so far.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.log"))
	return string(b)
}

// Stop ends the server (SIGTERM to its process group, SIGKILL after 5s) and
// waits for it. The maildir is kept until cleanup.
func (d *Dovecot) Stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	pgid := d.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-d.done
	}
	d.cmd = nil
}

// Restart stops the server and starts it again on the same port with the
// same mail, which drops every client connection.
func (d *Dovecot) Restart() {
	d.t.Helper()
	d.Stop()
	d.start()
}
