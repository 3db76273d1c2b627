package notify_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// python is Debian's, which has python3-aiosmtpd (deploy/local/stack deps installs it;
// `make test` asks for it): another python3 on PATH may not.
const python = "/usr/bin/python3"

// smtpd is a real SMTP server, Debian's aiosmtpd, saving every message it accepts into a
// Maildir. It can be stopped and started again on the same port, as an outage would.
type smtpd struct {
	t    *testing.T
	addr string
	dir  string
	cmd  *exec.Cmd
	log  bytes.Buffer
	// stopFn ends the running server; nil while none runs.
	stopFn func()
	// handler is the aiosmtpd handler class, and env what python needs to find it.
	handler string
	env     []string
}

// newSMTPD reserves a port for a server that is not yet running.
func newSMTPD(t *testing.T) *smtpd {
	t.Helper()
	if _, err := os.Stat("/usr/lib/python3/dist-packages/aiosmtpd/__main__.py"); err != nil {
		t.Fatalf("python3-aiosmtpd is missing (%v): run deploy/local/stack deps /usr/lib/python3/dist-packages/aiosmtpd/__main__.py=python3-aiosmtpd, as make test does", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &smtpd{t: t, addr: addr, dir: filepath.Join(t.TempDir(), "maildir"), handler: "aiosmtpd.handlers.Mailbox"}
	t.Cleanup(s.stop)
	return s
}

// testHandlers are aiosmtpd's Mailbox with a fault: Refusing refuses a recipient whose
// address starts with "refused" for good (550), as a server refuses a mailbox it does not
// have; Crashing dies in the middle of the conversation when a message is for an address
// starting with "crash", after saving the ones before it.
const testHandlers = `import os

from aiosmtpd.handlers import Mailbox


class Refusing(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return "550 5.1.1 <%s>: no such mailbox" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"


class Crashing(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        if any(r.startswith("crash") for r in envelope.rcpt_tos):
            os._exit(1)
        return await super().handle_DATA(server, session, envelope)
`

// withHandler makes the server run one of testHandlers ("Refusing", "Crashing") from its
// next start; "" goes back to the plain Mailbox.
func (s *smtpd) withHandler(name string) {
	s.t.Helper()
	if name == "" {
		s.handler, s.env = "aiosmtpd.handlers.Mailbox", nil
		return
	}
	dir := s.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "testhandlers.py"), []byte(testHandlers), 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.handler, s.env = "testhandlers."+name, []string{"PYTHONPATH=" + dir}
}

func (s *smtpd) start() {
	s.t.Helper()
	s.cmd = exec.Command(python, "-m", "aiosmtpd", "-n", "-l", s.addr, "-c", s.handler, s.dir)
	s.cmd.Env = append(os.Environ(), s.env...)
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); ; {
		select {
		case err := <-exited:
			s.cmd = nil
			s.t.Fatalf("aiosmtpd exited: %v\n%s", err, s.log.String())
		default:
		}
		// Ready when this server greets: the port was free when reserved, but another
		// listener could have taken it since, and aiosmtpd would then have failed to bind.
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			greeting, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if !strings.HasPrefix(greeting, "220 ") {
				s.t.Fatalf("%s greets %q, not as aiosmtpd does\n%s", s.addr, greeting, s.log.String())
			}
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("aiosmtpd does not listen on %s\n%s", s.addr, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd := s.cmd
	s.stopFn = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
}

// stop ends the server, as an outage would; what it saved stays.
func (s *smtpd) stop() {
	if s.stopFn != nil {
		s.stopFn()
		s.stopFn = nil
	}
}

// received is one message the server saved, decoded.
type received struct {
	To, Subject, Body, MessageID string
}

// messages returns what the server saved, in the order it saved them.
func (s *smtpd) messages() []received {
	s.t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.dir, "new", "*"))
	sort.Slice(files, func(i, j int) bool {
		a, _ := os.Stat(files[i])
		b, _ := os.Stat(files[j])
		return a.ModTime().Before(b.ModTime())
	})
	var out []received
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			s.t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			s.t.Fatalf("%s: %v", f, err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			s.t.Fatalf("subject of %s: %v", f, err)
		}
		to, err := mail.ParseAddress(m.Header.Get("To"))
		if err != nil {
			s.t.Fatalf("To of %s: %v", f, err)
		}
		if m.Header.Get("Content-Transfer-Encoding") != "base64" {
			s.t.Fatalf("%s: transfer encoding %q", f, m.Header.Get("Content-Transfer-Encoding"))
		}
		body, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, m.Body))
		if err != nil {
			s.t.Fatalf("body of %s: %v", f, err)
		}
		out = append(out, received{To: to.Address, Subject: subject, Body: string(body), MessageID: m.Header.Get("Message-ID")})
	}
	return out
}
