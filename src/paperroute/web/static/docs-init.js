// Starts the API explorer on /docs. It lives in a file because the site's
// Content-Security-Policy runs no inline script.
(function () {
  "use strict";
  var target = document.getElementById("swagger-ui");
  if (!target || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: target.getAttribute("data-openapi-url"),
    domNode: target,
    deepLinking: true,
    // The default validator badge loads an image from another origin.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
