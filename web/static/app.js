// School Service: the one script of its own (the CSP allows no inline code).
//
// After an action a person took (a click or a form sent over HTMX), focus moves to the
// message that answers it, so keyboard users stay where the answer is and screen readers
// read it out. Polls and typing in the filters never move focus.
(function () {
	"use strict";
	var answers = '[data-testid="row-result"], [data-testid="seat-result"], [data-testid="basket-results"], [role="alert"], .field-error, [data-focus-answer]';
	document.addEventListener("htmx:afterSettle", function (evt) {
		var d = evt.detail || {};
		var cause = d.requestConfig && d.requestConfig.triggeringEvent;
		if (d.boosted || !cause || (cause.type !== "submit" && cause.type !== "click")) {
			return;
		}
		// An outerHTML swap replaced the target: the new element has its id.
		var roots = [evt.target, d.target, d.target && d.target.id && document.getElementById(d.target.id)];
		var el = null;
		for (var i = 0; i < roots.length && !el; i++) {
			var root = roots[i];
			if (root && root.isConnected && root.matches) {
				el = root.matches(answers) ? root : root.querySelector(answers);
			}
		}
		el = el || document.querySelector("#seat-result " + answers + ", #flash " + answers);
		if (!el) {
			return;
		}
		if (!el.hasAttribute("tabindex")) {
			el.setAttribute("tabindex", "-1");
		}
		el.focus();
	});
})();

// Quick registration's field: Enter sends the codes (the fastest path on registration
// morning); Shift+Enter, or a pasted list, still makes new lines, which separate codes.
(function () {
	"use strict";
	document.addEventListener("keydown", function (evt) {
		var t = evt.target;
		if (evt.key !== "Enter" || evt.shiftKey || evt.isComposing || !t.matches || !t.matches("textarea[data-submit-on-enter]") || !t.form) {
			return;
		}
		evt.preventDefault();
		var send = t.form.querySelector('button[type="submit"]');
		if (send && send.disabled) {
			return; // held until the opening (clock.js), or a request under way
		}
		t.form.requestSubmit(send);
	});
})();
