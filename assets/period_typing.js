/* The period's date boxes: tell the server what was typed, so it can answer in words.

   The date picker quietly drops a typed value it cannot use (2026-13-45, or a day after its last allowed
   day) and the browser even moves 2026-02-30 to 2 March. When Enter or Tab commits a typed date, its text
   goes to the "period-typed-store" (callbacks/period.py), which says "2026-02-30 is not a date" or clamps
   a future day to today and says so. A click on the calendar clears the store: a picked day is always a
   real date. Runs in the capture phase, before the picker handles the same key or click. */
(function () {
  "use strict";
  var FIELDS = {"period-date-range": "start", "period-date-range-end-date": "end"};
  var STORE = "period-typed-store";
  var sequence = 0;

  function setTyped(data) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(STORE, {data: data});
    }
  }

  document.addEventListener("keydown", function (event) {
    var field = event.target && FIELDS[event.target.id];
    if (!field || (event.key !== "Enter" && event.key !== "Tab")) {
      return;
    }
    sequence += 1;
    setTyped({field: field, text: event.target.value, sequence: sequence});
  }, true);

  document.addEventListener("mousedown", function (event) {
    var calendar = event.target && event.target.closest &&
      event.target.closest(".dash-datepicker-content, .dash-datepicker-clear");
    if (calendar && document.getElementById("period-custom-range-area").contains(calendar)) {
      setTyped(null);
    }
  }, true);
})();
