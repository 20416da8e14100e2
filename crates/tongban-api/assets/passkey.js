// Passkeys on the login and account pages. The server sends WebAuthn options as JSON
// with base64url binary fields; the browser's answer goes back through the page's own
// form, so the server answers it like any other form post. Without WebAuthn (or without
// JavaScript) the forms stay hidden and the password login works as before.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function decode(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var binary = atob(s);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function encode(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // WebIDL dictionaries refuse null where a member is absent.
  function withoutNulls(value) {
    if (Array.isArray(value)) {
      return value.map(withoutNulls);
    }
    if (value && typeof value === "object") {
      var out = {};
      Object.keys(value).forEach(function (key) {
        if (value[key] !== null) {
          out[key] = withoutNulls(value[key]);
        }
      });
      return out;
    }
    return value;
  }

  function fetchOptions(form) {
    var body = new URLSearchParams();
    body.set("csrf_token", form.elements.csrf_token.value);
    return fetch(form.dataset.options, {
      method: "POST",
      body: body,
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("options: " + response.status);
      }
      return response.json();
    });
  }

  function drive(form, ceremony) {
    var alert = form.querySelector("[role=alert]");
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      alert.hidden = true;
      if (!form.reportValidity()) {
        return;
      }
      fetchOptions(form)
        .then(function (options) {
          form.elements.ceremony.value = options.ceremony;
          return ceremony(withoutNulls(options.publicKey));
        })
        .then(function (answer) {
          form.elements.credential.value = JSON.stringify(answer);
          form.submit();
        })
        .catch(function () {
          alert.hidden = false;
        });
    });
  }

  function assertion(publicKey) {
    publicKey.challenge = decode(publicKey.challenge);
    (publicKey.allowCredentials || []).forEach(function (c) {
      c.id = decode(c.id);
    });
    return navigator.credentials.get({ publicKey: publicKey }).then(function (c) {
      return {
        id: c.id,
        rawId: encode(c.rawId),
        type: c.type,
        response: {
          authenticatorData: encode(c.response.authenticatorData),
          clientDataJSON: encode(c.response.clientDataJSON),
          signature: encode(c.response.signature),
          userHandle: c.response.userHandle ? encode(c.response.userHandle) : null,
        },
        extensions: c.getClientExtensionResults(),
      };
    });
  }

  // Signing in, and approving documents to sign (the challenge commits to them).
  ["passkey-login", "passkey-approve"].forEach(function (id) {
    var form = document.getElementById(id);
    if (form) {
      drive(form, assertion);
    }
  });

  var enrol = document.getElementById("passkey-enrol");
  if (enrol) {
    var note = document.getElementById("passkey-browser");
    if (note) {
      note.hidden = true;
    }
    drive(enrol, function (publicKey) {
      publicKey.challenge = decode(publicKey.challenge);
      publicKey.user.id = decode(publicKey.user.id);
      (publicKey.excludeCredentials || []).forEach(function (c) {
        c.id = decode(c.id);
      });
      return navigator.credentials.create({ publicKey: publicKey }).then(function (c) {
        return {
          id: c.id,
          rawId: encode(c.rawId),
          type: c.type,
          response: {
            attestationObject: encode(c.response.attestationObject),
            clientDataJSON: encode(c.response.clientDataJSON),
            transports: c.response.getTransports ? c.response.getTransports() : null,
          },
          extensions: c.getClientExtensionResults(),
        };
      });
    });
  }
})();
