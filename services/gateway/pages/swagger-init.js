// Starts Swagger UI on /docs (services/gateway/api_docs.py): a file, since the docs pages run no
// inline script. The document's address comes from the page.
'use strict';
window.ui = SwaggerUIBundle({
  url: document.getElementById('swagger-ui').dataset.openapiUrl,
  dom_id: '#swagger-ui',
  layout: 'BaseLayout',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
