package main

import (
	"bytes"
	"os"

	"github.com/schoolservice/school/notify"
)

// smtpFlags say where notification e-mails go; without -smtp-addr they are not sent.
type smtpFlags struct {
	Addr, From, Username, PasswordFile string
}

func (f *smtpFlags) register(fs *flagSet) {
	fs.String(&f.Addr, "smtp-addr", "", "host:port of the SMTP server notification e-mails go through (STARTTLS when it offers it); empty: notifications stay in the app")
	fs.String(&f.From, "smtp-from", "", "the notification e-mails' sender, for example \"School Service <noreply@school.example>\"")
	fs.String(&f.Username, "smtp-username", "", "user name for SMTP AUTH PLAIN, sent only over TLS; empty: no authentication")
	fs.String(&f.PasswordFile, "smtp-password-file", "", "file holding the SMTP password (whitespace around it ignored), so it is in no environment or process list")
}

// config returns the server's settings, nil when none is set.
func (f *smtpFlags) config(p *problems) *notify.SMTP {
	if f.Addr == "" {
		if f.From != "" || f.Username != "" || f.PasswordFile != "" {
			p.add("-smtp-addr (SCHOOL_SMTP_ADDR) is required with the other -smtp- settings")
		}
		return nil
	}
	c := notify.SMTP{Addr: f.Addr, From: f.From, Username: f.Username}
	if f.PasswordFile != "" {
		b, err := os.ReadFile(f.PasswordFile)
		if err != nil {
			p.add("-smtp-password-file (SCHOOL_SMTP_PASSWORD_FILE): %v", err)
			return nil
		}
		c.Password = string(bytes.TrimSpace(b))
	}
	if err := c.Check(); err != nil {
		p.add("SMTP (SCHOOL_SMTP_ADDR, SCHOOL_SMTP_FROM, …): %v", err)
		return nil
	}
	return &c
}
