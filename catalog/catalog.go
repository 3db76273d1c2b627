// Package catalog holds the staff side of the catalog: departments, courses and their
// prerequisites, terms, sections and their meetings, registration windows, and the CSV
// import that writes many of them at once (catalogcsv reads the files; this package
// checks them against the database and applies them).
//
// Each change is one transaction together with its audit row (db.Audited). A change the
// rules do not allow writes nothing and returns a refusal, a typed error of errors.go or
// registration's *CapacityError, that the caller turns into a message; a missing entity
// is an error wrapping sql.ErrNoRows. A section's seats (its capacity and the seats held
// for its waitlist) follow registration's rule, registration.Resize. The package knows
// nothing of HTTP.
package catalog

import (
	"database/sql"
	"log/slog"

	"github.com/schoolservice/school/registration"
)

// Service makes the staff's changes to the catalog.
type Service struct {
	db  *sql.DB
	reg *registration.Service
	log *slog.Logger
}

// New returns a Service on sqldb; reg hands the seats a larger capacity holds to the
// waitlist.
func New(sqldb *sql.DB, reg *registration.Service, log *slog.Logger) *Service {
	return &Service{db: sqldb, reg: reg, log: log}
}
