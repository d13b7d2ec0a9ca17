/* Escape in the field-mapping dialog with unsaved edits: the dialog's own Escape is off then (its
   "keyboard" prop, see callbacks/field_mapping_discard.py), so ask "Discard changes?" by pressing its
   Cancel button. Runs in the capture phase, before a drop-down's own Escape handling, so an Escape that
   only closes an open drop-down list is left alone. */
(function () {
  "use strict";
  window.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) {
      return;
    }
    if (!document.querySelector(".modal.show .field-mapping-dirty")) {
      return;
    }
    if (document.querySelector(".dash-dropdown-content, .dash-datepicker-calendar-wrapper")) {
      return;
    }
    var cancel = document.getElementById("field-mapping-close-button");
    if (cancel) {
      cancel.click();
    }
  }, true);
})();
