// The phone log's "who" field: as one types a building, room or name, the list under it is filled
// from the server (care:who_lookup), at most 20 households and 20 residents; never the whole roster.
(function () {
  "use strict";
  function setup(list) {
    var input = document.querySelector('input[list="' + list.id + '"]');
    if (!input) return;
    var timer = null;
    var asked = "";
    function fill(items) {
      while (list.firstChild) list.removeChild(list.firstChild);
      items.forEach(function (item) {
        var option = document.createElement("option");
        option.value = item.label;
        list.appendChild(option);
      });
    }
    function lookup() {
      var q = input.value.trim();
      if (!q || q === asked) return;
      asked = q;
      fetch(list.dataset.lookup + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (data) { if (input.value.trim() === q) fill(data.items || []); })
        .catch(function () { /* offline: the field keeps what it had */ });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 200);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("datalist[data-lookup]").forEach(setup);
  });
})();
