package dbtest

import (
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/schoolservice/school/db"
)

// Proxy stands between the tests and MariaDB on loopback and can break a connection at
// the one moment a server kill cannot be aimed at: around a COMMIT. It reads the
// client's packets (COM_QUERY "COMMIT" is what database/sql's Commit sends; on a TxOnly
// pool the deferred statements may come first in its packet) and passes everything else
// through untouched.
type Proxy struct {
	ln     net.Listener
	target string
	// What to do with the next COMMIT: 0 pass, dropBefore or dropAfter.
	mode    atomic.Int32
	dropped atomic.Int32
	wg      sync.WaitGroup
}

const (
	dropBefore = 1 + iota // close the connection instead of sending the COMMIT
	dropAfter             // send it, wait for the server's answer, close without passing it on
)

// NewProxy listens on a free loopback port in front of the server of dsn and returns
// the proxy and dsn pointed at it.
func NewProxy(t testing.TB, dsn string) (*Proxy, string) {
	t.Helper()
	cfg, err := db.Config(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: cfg.Addr}
	p.wg.Go(p.serve)
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	cfg.Addr = ln.Addr().String()
	return p, cfg.FormatDSN()
}

// DropBeforeCommit makes the next COMMIT never reach the server: the connection closes
// as it is sent, and the transaction is rolled back.
func (p *Proxy) DropBeforeCommit() { p.mode.Store(dropBefore) }

// DropAfterCommit lets the next COMMIT reach the server and be applied, then closes the
// connection before its answer reaches the client: a commit that landed, which the
// client cannot tell from one that did not.
func (p *Proxy) DropAfterCommit() { p.mode.Store(dropAfter) }

// Dropped is how many COMMITs the proxy broke.
func (p *Proxy) Dropped() int { return int(p.dropped.Load()) }

func (p *Proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.relay(client) })
	}
}

func (p *Proxy) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	var muted atomic.Bool
	// answered is closed when the server has answered a muted COMMIT (or is gone).
	answered := make(chan struct{})
	p.wg.Go(func() {
		defer close(answered)
		defer client.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && muted.Load() {
				return
			}
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	head := make([]byte, 4)
	for {
		if _, err := io.ReadFull(client, head); err != nil {
			return
		}
		body := make([]byte, int(head[0])|int(head[1])<<8|int(head[2])<<16)
		if _, err := io.ReadFull(client, body); err != nil {
			return
		}
		if len(body) > 1 && body[0] == 0x03 && endsInCommit(body[1:]) {
			switch p.mode.Swap(0) {
			case dropBefore:
				p.dropped.Add(1)
				return
			case dropAfter:
				p.dropped.Add(1)
				muted.Store(true)
				if _, err := server.Write(append(head, body...)); err == nil {
					<-answered
				}
				return
			}
		}
		if _, err := server.Write(append(head, body...)); err != nil {
			return
		}
	}
}

// endsInCommit reports whether a query's last statement is COMMIT.
func endsInCommit(query []byte) bool {
	stmts := bytes.Split(bytes.TrimSpace(query), []byte(";"))
	return bytes.EqualFold(bytes.TrimSpace(stmts[len(stmts)-1]), []byte("COMMIT"))
}
