package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// SMTP is the mail server the e-mails go through.
//
// The connection is upgraded with STARTTLS whenever the server offers it (the certificate
// checked against the host of Addr). With a Username the sender authenticates with PLAIN,
// which net/smtp sends only over TLS (or to localhost): a server that offers no STARTTLS
// then fails the attempt instead of receiving the password in clear. Without a Username
// no authentication is tried, as with a relay that trusts the app's network.
type SMTP struct {
	Addr               string // host:port
	From               string // the sender's address, "School <noreply@school.example>"
	Username, Password string
	// TLS, when set, is the STARTTLS configuration (a private CA, for example); its
	// ServerName defaults to Addr's host.
	TLS *tls.Config
	// Timeout bounds one connection's whole conversation (default 30 s), so a server
	// that stops answering holds nothing for long.
	Timeout time.Duration
}

// outgoing is one e-mail to send.
type outgoing struct {
	id       int64
	attempts int
	to, name string
	mail     Mail
}

// Check says what is wrong with the settings, for the app's start-up.
func (c SMTP) Check() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("address %q: want host:port", c.Addr)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("from address %q: %v", c.From, err)
	}
	if c.Username == "" && c.Password != "" {
		return fmt.Errorf("a password without a username")
	}
	return nil
}

// send sends the e-mails over one connection and returns each one's error; when the
// connection cannot be made every e-mail has its error.
func (c SMTP) send(ctx context.Context, out []outgoing) []error {
	errs := make([]error, len(out))
	// fail gives err to the e-mails from the one the conversation broke at on: those
	// before it were accepted (nil) or refused for themselves, and keep that.
	fail := func(from int, err error) []error {
		for i := from; i < len(errs); i++ {
			errs[i] = err
		}
		return errs
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(c.Addr)
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return fail(0, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline) //nolint:errcheck // a connection that refuses a deadline fails its next read
	// Closing the connection is what ends a conversation stuck past ctx.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fail(0, err)
	}
	defer cl.Close()
	if err := cl.Hello(helloName(c.From)); err != nil {
		return fail(0, err)
	}
	if ok, _ := cl.Extension("STARTTLS"); ok {
		cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if c.TLS != nil {
			cfg = c.TLS.Clone()
			if cfg.ServerName == "" {
				cfg.ServerName = host
			}
		}
		if err := cl.StartTLS(cfg); err != nil {
			return fail(0, fmt.Errorf("starttls: %w", err))
		}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, host)); err != nil {
			return fail(0, fmt.Errorf("auth: %w", err))
		}
	}
	from, _ := mail.ParseAddress(c.From)
	for i, m := range out {
		if errs[i] = c.deliver(cl, from, m); errs[i] != nil {
			if _, ok := errors.AsType[net.Error](errs[i]); ok {
				return fail(i, errs[i])
			}
			// A refused e-mail leaves the conversation midway; RSET starts the next one.
			if err := cl.Reset(); err != nil {
				return fail(i+1, err)
			}
		}
	}
	cl.Quit() //nolint:errcheck // every e-mail was accepted or refused already
	return errs
}

func (c SMTP) deliver(cl *smtp.Client, from *mail.Address, m outgoing) error {
	if err := cl.Mail(from.Address); err != nil {
		return err
	}
	if err := cl.Rcpt(m.to); err != nil {
		return refusal(err)
	}
	w, err := cl.Data()
	if err != nil {
		return refusal(err)
	}
	if _, err := w.Write(message(from, m)); err != nil {
		w.Close()
		return err
	}
	return refusal(w.Close())
}

// refused is the server's refusal of one e-mail for good (a 5xx answer to its recipient
// or its content): sending it again would be refused again. Any other failure, a 5xx to
// the greeting, STARTTLS, AUTH (a changed password) or MAIL FROM included, is the
// connection's or the settings', and every e-mail is tried again later.
type refused struct{ error }

func (e refused) Unwrap() error { return e.error }

// refusal marks err as a refusal of the e-mail when it is a 5xx reply.
func refusal(err error) error {
	if perr, ok := errors.AsType[*textproto.Error](err); ok && perr.Code >= 500 && perr.Code < 600 {
		return refused{err}
	}
	return err
}

// message is the e-mail as RFC 5322 text: UTF-8, the subject encoded for the headers, the
// body in base64 (Korean text and long lines pass every server unchanged). The
// Message-ID is the notification's, so an e-mail sent twice is recognisably the same.
func message(from *mail.Address, m outgoing) []byte {
	var b bytes.Buffer
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	to := mail.Address{Name: m.name, Address: m.to}
	fmt.Fprintf(&b, "From: %s\r\n", from.String())
	fmt.Fprintf(&b, "To: %s\r\n", to.String())
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.mail.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <notification-%s@%s>\r\n", strconv.FormatInt(m.id, 10), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(m.mail.Body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

// helloName is the name the app greets the server with: the domain of its address.
func helloName(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i < len(a.Address)-1 {
			return a.Address[i+1:]
		}
	}
	return "localhost"
}
