/* ublog_posts: like buttons without page reload.
 *
 * Progressive enhancement of <form class="ublog-like">: the submit is sent
 * with fetch() and the count and pressed state are updated in place. When
 * fetch() is missing or fails, or the server refuses (403), the form is
 * submitted normally, or the browser goes to the login page the server names.
 */
(function () {
  "use strict";

  function submitNormally(form) {
    HTMLFormElement.prototype.submit.call(form);
  }

  function update(form, data) {
    var button = form.querySelector(".ublog-like-button");
    var count = form.querySelector(".ublog-like-count");
    var label = form.querySelector(".ublog-like-label");
    if (count) {
      count.textContent = String(data.count);
    }
    if (button) {
      button.setAttribute("aria-pressed", data.liked ? "true" : "false");
      button.classList.toggle("is-liked", Boolean(data.liked));
    }
    if (label) {
      var text = data.liked ? form.dataset.labelUnlike : form.dataset.labelLike;
      if (text) {
        label.textContent = text;
      }
    }
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("ublog-like")) {
      return;
    }
    if (typeof window.fetch !== "function" || typeof window.FormData !== "function") {
      return;
    }
    event.preventDefault();
    if (form.dataset.pending === "true") {
      return;
    }
    var tokenInput = form.querySelector("input[name=csrfmiddlewaretoken]");
    form.dataset.pending = "true";
    window
      .fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: {
          "X-CSRFToken": tokenInput ? tokenInput.value : "",
          Accept: "application/json",
        },
      })
      .then(function (response) {
        if (response.status === 403) {
          return response.json().then(
            function (data) {
              if (data && data.login_url) {
                window.location.assign(data.login_url);
              } else {
                submitNormally(form);
              }
            },
            function () {
              submitNormally(form);
            }
          );
        }
        if (!response.ok) {
          throw new Error("like failed: HTTP " + response.status);
        }
        return response.json().then(function (data) {
          update(form, data);
        });
      })
      .catch(function () {
        submitNormally(form);
      })
      .then(function () {
        delete form.dataset.pending;
      });
  }

  document.addEventListener("submit", onSubmit);
})();
