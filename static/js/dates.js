/* Date and date-time fields in the product's one date style (smarketing/core/formats.py):
 * "Thu 03 Dec 2026", "Thu 03 Dec 2026 14:30" — not the browser's mm/dd/yyyy.
 *
 * Every <input type="date"> and <input type="datetime-local"> becomes a flatpickr
 * (static/vendor/flatpickr): the field a person sees and types in shows the date in that
 * style; the form still submits the ISO value ("2026-12-03", "2026-12-03T14:30") from the
 * original input, now hidden, so servers and tests read what they always read.
 *
 * The visible field takes the original's id (the <label for> names it: screen readers,
 * clicking the label and Playwright's get_by_label find it), its aria attributes and
 * `required`; the hidden one keeps the name. Typing works: "2026-12-03", "03 Dec 2026",
 * "Thu 03 Dec 2026" (and a time after it), read when the field loses focus or on Enter.
 * Content swapped in by htmx is upgraded too. No inline script: CSP allows 'self' only.
 */
(function () {
  "use strict";
  if (typeof window.flatpickr !== "function") return;

  var MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
  var ISO = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T\s]+(\d{1,2}):(\d{2}))?(?::\d{2}(?:\.\d+)?)?\s*$/;
  // "Thu 03 Dec 2026 14:30", "03 Dec 2026", "3 December 2026 9:05", "Thu, 3 Dec. 2026"
  var WORDS = /^\s*(?:[A-Za-z]{2,}\.?,?\s+)?(\d{1,2})\s+([A-Za-z]{3,})\.?,?\s+(\d{4})(?:,?\s+(\d{1,2}):(\d{2}))?\s*$/;

  function made(year, month, day, hour, minute) {
    var date = new Date(year, month, day, hour || 0, minute || 0);
    // 31 Feb is not 3 Mar: refuse a day the month does not have.
    if (date.getFullYear() !== year || date.getMonth() !== month || date.getDate() !== day) return undefined;
    return date;
  }

  function parse(text) {
    var m = ISO.exec(text);
    if (m) return made(+m[1], +m[2] - 1, +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0);
    m = WORDS.exec(text);
    if (m) {
      var month = MONTHS.indexOf(m[2].slice(0, 3).toLowerCase());
      if (month < 0) return undefined;
      return made(+m[3], month, +m[1], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0);
    }
    return undefined;
  }

  function upgrade(input) {
    if (input._flatpickr || input.dataset.datePicker === "off") return;
    var withTime = input.type === "datetime-local";
    var id = input.id;
    var options = {
      altInput: true,
      altInputClass: (input.className + " date-alt").trim(),
      altFormat: withTime ? "D d M Y H:i" : "D d M Y",
      dateFormat: withTime ? "Y-m-d\\TH:i" : "Y-m-d",
      enableTime: withTime,
      time_24hr: true,
      allowInput: true,
      disableMobile: true, // one style on phones too (a phone's own picker shows its own format)
      locale: { firstDayOfWeek: 1 }, // ISO weeks: Monday first, as the reports count
      parseDate: function (text) { return parse(text); },
      errorHandler: function () {}, // a date it cannot read leaves the field empty, as the browser's does
      onReady: function (selected, value, picker) {
        var alt = picker.altInput;
        if (!alt) return;
        if (id) {
          input.id = id + "_iso";
          alt.id = id;
        }
        ["aria-describedby", "aria-invalid", "autocomplete", "title"].forEach(function (name) {
          if (input.hasAttribute(name)) alt.setAttribute(name, input.getAttribute(name));
        });
        alt.setAttribute("inputmode", "text");
        if (!alt.placeholder) alt.placeholder = withTime ? "e.g. 03 Dec 2026 14:30" : "e.g. 03 Dec 2026";
      },
    };
    if (input.min) options.minDate = parse(input.min);
    if (input.max) options.maxDate = parse(input.max);
    window.flatpickr(input, options);
  }

  function upgradeAll(root) {
    var inputs = (root || document).querySelectorAll('input[type="date"], input[type="datetime-local"]');
    Array.prototype.forEach.call(inputs, upgrade);
  }

  upgradeAll(document);
  document.addEventListener("htmx:load", function (event) { upgradeAll(event.target); });
})();
