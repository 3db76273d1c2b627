package web

import (
	"net/http"
	"net/http/pprof"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns every public route of the app. Middleware runs top to bottom: request
// id, panic recovery, metrics, security headers, cross-origin refusal, language, the
// school's time zone, input limits and checks; then, for pages, no caching, the session,
// who signed in (read once) and the page context; then, for signed-in pages, the login
// check, and the role checks of the student's and the staff's groups.
// Waiting pages' polls are answered ahead of all of it (pollFirst), with what those layers
// do for a poll; any other request, and any poll it does not answer, takes the route below.
// /metrics and /readyz are not here: they are OpsHandler's, on a listener of their own.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.recoverer, s.metrics.instrument, securityHeaders, s.crossOrigin, locale, s.timeZone, s.checkInput)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	r.Get("/healthz", s.healthz)
	r.Method(http.MethodGet, "/static/*", staticHandler())
	// Waiting pages poll here: answered from memory, without loading the session. Polls
	// with a genuine token have been answered by pollFirst; here come the others.
	r.With(noStore).Get(pollPath, s.queueStatus)
	// The header's server clock measures its offset here: no session, no database.
	r.Get("/clock", s.clockNow)
	// The pre-queue shuffle's commitment and reveal, for anyone to check.
	r.Get("/queue/shuffle/{windowID}", s.queueShuffleList)

	r.Group(func(r chi.Router) {
		r.Use(noStore, s.inTurn, s.sessions.LoadAndSave, s.idleSessions, s.withUser, s.pageContext)
		r.Get("/login", s.loginPage)
		r.Post("/login", s.login)
		r.Post("/logout", s.logout)
		r.Post("/lang", s.setLanguage)

		r.Group(func(r chi.Router) {
			r.Use(s.requireLogin)
			r.Get("/", s.home)
			r.Get("/courses", s.catalog)
			r.Get("/courses/{code}", s.courseInfo)
			r.Get("/timetable", s.timetable)
			r.Get("/registrations", s.registrations)
			r.Get("/events", s.eventsList)
			r.Get("/events/{eventID}", s.eventPage)
			r.Get("/events/{eventID}/seats", s.seatMapFragment)
			r.With(s.limitSeats).Post("/events/{eventID}/reserve", s.reserveSeat)
			r.With(s.limitSeats).Post("/events/{eventID}/cancel", s.cancelSeat)
			r.Get("/notices", s.noticesList)
			r.Get("/notices/{noticeID}", s.noticePage)

			r.Route("/admin", func(r chi.Router) {
				r.Use(s.requireStaff)
				r.Get("/", s.adminIndex)
				r.Get("/audit", s.adminAudit)
				r.Get("/terms", s.adminTerms)
				r.Get("/terms/{termID}", s.adminTerm)
				r.Group(func(r chi.Router) {
					r.Use(s.requireAdmin)
					r.Post("/terms", s.createTerm)
					r.Post("/terms/{termID}", s.updateTerm)
					r.Post("/terms/{termID}/current", s.setCurrentTerm)
					r.Post("/terms/{termID}/delete", s.deleteTerm)
				})
				r.Get("/departments", s.adminDepartments)
				r.Post("/departments", s.createDepartment)
				r.Get("/departments/{deptID}", s.adminDepartment)
				r.Post("/departments/{deptID}", s.updateDepartment)
				r.Post("/departments/{deptID}/delete", s.deleteDepartment)
				r.Get("/courses", s.adminCourses)
				r.Post("/courses", s.createCourse)
				r.Get("/courses/{courseID}", s.adminCourse)
				r.Post("/courses/{courseID}", s.updateCourse)
				r.Post("/courses/{courseID}/delete", s.deleteCourse)
				r.Get("/sections", s.adminSections)
				r.Post("/sections", s.createSection)
				r.Get("/sections/{sectionID}", s.adminSection)
				r.Post("/sections/{sectionID}", s.updateSection)
				r.Post("/sections/{sectionID}/delete", s.deleteSection)
				r.Post("/sections/{sectionID}/enroll", s.staffEnroll)
				r.Post("/sections/{sectionID}/drop", s.staffDrop)
				r.Get("/windows", s.adminWindows)
				r.Post("/windows", s.createWindow)
				r.Get("/windows/{windowID}", s.adminWindow)
				r.Post("/windows/{windowID}", s.updateWindow)
				r.Post("/windows/{windowID}/delete", s.deleteWindow)
				r.Get("/basket-auto", s.adminBasketAuto)
				r.Post("/basket-auto", s.runBasketAuto)
				r.Get("/waiting-room", s.queueAdmin)
				r.Get("/waiting-room/{windowID}/figures", s.queueFigures)
				r.Post("/waiting-room/{windowID}", s.queueSettings)
				r.Post("/waiting-room/{windowID}/admit", s.queueLetThrough)
				r.Get("/events", s.adminEvents)
				r.Get("/events/new", s.newEventForm)
				r.Post("/events", s.createEvent)
				r.Get("/events/{eventID}", s.editEventForm)
				r.Post("/events/{eventID}", s.updateEvent)
				r.Get("/notices", s.adminNotices)
				r.Get("/notices/new", s.newNoticeForm)
				r.Post("/notices", s.createNotice)
				r.Get("/notices/{noticeID}", s.editNoticeForm)
				r.Post("/notices/{noticeID}", s.updateNotice)
				r.Post("/notices/{noticeID}/{action:publish|unpublish|pin|unpin}", s.noticeToggle)
				r.Get("/dashboard", s.dashboard)
				r.Get("/dashboard/figures", s.dashboardFigures)
				r.Get("/import", s.importPage)
				r.Post("/import", s.importPreview)
				r.Get("/import/{jobID}", s.importJob)
				r.Get("/import/{jobID}/progress", s.importJob) // the job page polls here for its progress
				r.Post("/import/{jobID}/run", s.importRun)
				r.Get("/sections/{sectionID}/enrollments.csv", s.exportSectionEnrollments)
				r.Get("/students/{username}/enrollments.csv", s.exportStudentEnrollments)
				r.Get("/students", s.adminAccounts)
				r.Get("/students/{username}", s.adminAccount)
				r.Post("/students/{username}/sessions/end", s.endAccountSessions)
			})

			r.Group(func(r chi.Router) {
				r.Use(s.requireStudent)
				r.Get("/basket", s.basket)
				r.Get("/registrations/print", s.registrationsPrint)
				r.Post("/basket", s.addToBasket)
				r.Post("/basket/{sectionID}/remove", s.removeFromBasket)
				r.Get("/notifications", s.notificationsPage)
				r.Post("/notifications/read", s.markAllNotificationsRead)
				r.Post("/notifications/{notificationID}/read", s.markNotificationRead)
				r.Get("/timetable/preview", s.timetablePreview)
				r.Get("/queue", s.queuePage)
				r.Get("/queue/shuffle", s.queueShuffle)
				r.Post("/queue", s.queueJoin)
				r.Post("/queue/enter", s.queueEnter)
				r.Post("/queue/done", s.queueDone)

				// What takes seats: rate-limited, and behind the waiting room when it is open.
				r.Group(func(r chi.Router) {
					r.Use(s.countRegistrations, s.gate)
					r.Post("/registrations", s.register)
					r.Post("/registrations/quick", s.quickRegister)
					r.Post("/registrations/{sectionID}/drop", s.drop)
					r.Post("/waitlist", s.joinWaitlist)
					r.Post("/waitlist/{sectionID}/leave", s.leaveWaitlist)
					r.Post("/basket/register", s.registerBasket)
				})
			})
		})
	})
	return s.pollFirst(r)
}

// OpsHandler returns the operators' routes, for a listener that only the cluster reaches
// (kubelet's probes, Prometheus): liveness, readiness and the metrics. They are kept off
// the public handler, so neither a student nor anyone on the internet can read the
// metrics or make every replica ping MySQL and search the directory. With -pprof,
// /debug/pprof/ is here for the same reason: a CPU profile of a replica under the rush is
// how the hot path's cost is found (BENCHMARKS.md).
func (s *Server) OpsHandler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverer)
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	if s.profiling {
		// The profiles, not the command line: it can hold a DSN's password.
		r.Get("/debug/pprof/profile", pprof.Profile)
		r.Get("/debug/pprof/{name}", pprof.Index)
	}
	return r
}
