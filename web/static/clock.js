// School Service: the header's server clock (서버 시간) and the countdown to the student's
// next registration opening (남은 시간), on a day they have a registration window.
//
// The server's time is measured from the page's own requests to /clock: a few samples,
// the one with the shortest round trip kept, its midpoint taken as the moment the server
// read its clock (offset = server - (t0 + t1) / 2). Times are read from performance.now(),
// which is monotonic: neither the device's clock nor a change to it plays any part. While
// the student waits for their opening the register buttons are held (disabled); when the
// countdown reaches zero by the server's time they are released, the status says so (a
// role="status" region, so screen readers hear it) and "school:open" is sent on the body.
// Nothing is fetched at the opening itself: thousands of pages turning ready at the same
// second must not all ask the server for something.
// Without this script the header shows the static opening time, and the buttons work.
(function () {
	"use strict";
	var SAMPLES = 5;
	var RESYNC_MS = 5 * 60 * 1000;
	var HOLD = ["/registrations", "/waitlist", "/basket/register", "/registrations/quick"].map(function (a) {
		return 'form[action="' + a + '"] button';
	}).join(", ");

	// base + performance.now() is the server's time in Unix milliseconds; null until known.
	var base = null;
	var synced = false; // base comes from /clock, not from the page
	var rtt = Infinity;
	var lastSync = -Infinity;
	var syncing = false;
	var timer = 0;

	function clock() {
		return document.querySelector("[data-server-clock]");
	}

	function sample(left, best) {
		var t0 = performance.now();
		return fetch("/clock", {cache: "no-store", credentials: "omit", headers: {Accept: "application/json"}})
			.then(function (r) {
				if (!r.ok) {
					throw new Error("clock: " + r.status);
				}
				return r.json();
			})
			.then(function (j) {
				var t1 = performance.now();
				if (typeof j.now === "number" && t1 - t0 < best.rtt) {
					best.rtt = t1 - t0;
					best.base = j.now - (t0 + t1) / 2;
				}
				return left > 1 ? sample(left - 1, best) : best;
			});
	}

	function sync() {
		if (syncing) {
			return;
		}
		syncing = true;
		lastSync = performance.now();
		sample(SAMPLES, {rtt: Infinity, base: null})
			.then(function (best) {
				if (best.base !== null) {
					base = best.base;
					rtt = best.rtt;
					synced = true;
				}
			})
			.catch(function () {
				// Offline for a moment: keep what we have and try again at the next sync.
			})
			.then(function () {
				syncing = false;
				tick();
			});
	}

	function pad(n) {
		return (n < 10 ? "0" : "") + n;
	}

	function hms(seconds) {
		return pad(Math.floor(seconds / 3600)) + ":" + pad(Math.floor(seconds / 60) % 60) + ":" + pad(seconds % 60);
	}

	// hold disables the register buttons under root while the student's opening is to
	// come; release gives them back.
	function hold(root) {
		var c = clock();
		if (!c || c.dataset.state !== "waiting" || !root || !root.querySelectorAll) {
			return;
		}
		root.querySelectorAll(HOLD).forEach(function (b) {
			if (!b.disabled) {
				b.disabled = true;
				b.setAttribute("data-clock-held", "");
			}
		});
	}

	function release() {
		document.querySelectorAll("[data-clock-held]").forEach(function (b) {
			b.disabled = false;
			b.removeAttribute("data-clock-held");
		});
	}

	function open(c, now) {
		c.dataset.state = "open";
		c.dataset.openedAt = Math.round(now);
		var left = c.querySelector("[data-clock-left]");
		if (left) {
			left.hidden = true;
		}
		var status = c.querySelector("[data-clock-status]");
		if (status) {
			status.textContent = c.dataset.openText;
		}
		release();
		document.body.dispatchEvent(new CustomEvent("school:open", {bubbles: true}));
	}

	// tick shows the time and the countdown, and comes back just after the next second
	// by the server's clock, or at the opening if that is sooner.
	function tick() {
		clearTimeout(timer);
		var c = clock();
		if (!c || base === null) {
			return;
		}
		var now = base + performance.now();
		if (synced) {
			// Shift to the school's zone and read the UTC fields: the device's zone plays no part.
			var t = new Date(now + Number(c.dataset.zoneOffset) * 1000);
			c.querySelector("[data-clock-time]").textContent =
				pad(t.getUTCHours()) + ":" + pad(t.getUTCMinutes()) + ":" + pad(t.getUTCSeconds()) + " " + c.dataset.zoneAbbr;
			c.querySelector("[data-clock-now]").hidden = false;
			c.setAttribute("data-synced", "");
			c.dataset.rtt = Math.round(rtt);
		}
		var next = 1000 - (now % 1000);
		if (c.dataset.state === "waiting") {
			var ms = Number(c.dataset.opensAt) - now;
			if (ms <= 0) {
				open(c, now);
			} else {
				var left = c.querySelector("[data-clock-left]");
				left.textContent = c.dataset.leftText + " " + hms(Math.ceil(ms / 1000));
				left.hidden = false;
				next = Math.min(next, ms);
			}
		}
		if (performance.now() - lastSync > RESYNC_MS) {
			sync();
		}
		timer = setTimeout(tick, next + 5);
	}

	// start runs for the first page and for each part HTMX swaps in: a boosted link
	// brings a new header (and clock), a row answer new buttons. The measured offset
	// stays for the life of the tab.
	function start(root) {
		var c = clock();
		if (!c) {
			return;
		}
		hold(root);
		if (base === null) {
			// Until /clock answers: the page's own time, late by however long it took to
			// arrive, so a button is released late rather than early.
			base = Number(c.dataset.now) - performance.now();
		}
		if (!synced) {
			sync();
		}
		tick();
	}

	document.addEventListener("DOMContentLoaded", function () {
		start(document);
	});
	document.addEventListener("htmx:load", function (evt) {
		start(evt.target);
	});
	// A device that slept may have paused the monotonic clock: after a long time away the
	// clock is measured again, but not at every switch between tabs (a measurement is
	// five requests, and students switch tabs most in the minute before the opening).
	var AWAY_MS = 60 * 1000;
	var hiddenAt = 0;
	document.addEventListener("visibilitychange", function () {
		if (document.visibilityState === "hidden") {
			hiddenAt = Date.now();
			return;
		}
		if (clock() && Date.now() - hiddenAt > AWAY_MS) {
			sync();
		}
	});
})();
