// Starts Swagger UI on the docs page, driven by the service's /docs.json.
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "docs.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: false,
    validatorUrl: null,
    defaultModelsExpandDepth: -1,
    docExpansion: "list",
    tryItOutEnabled: false,
    displayRequestDuration: true,
  });
});
