#pragma once
// The servers' side of systemd (docs/deploy.md): readiness and stopping through sd_notify(3) for the Type=notify
// units of packaging/systemd/, and secrets handed over as systemd credentials (LoadCredential=, systemd.exec(5)).

#include <filesystem>
#include <optional>
#include <string_view>

namespace fdo::tool {

/// Tells the service manager that the server accepts connections: "READY=1" with "STATUS=`status`". Call it after
/// the "listening on" lines. Does nothing when NOTIFY_SOCKET is unset (the server was not started by systemd); a
/// notification that cannot be sent is logged as a warning, never thrown.
void notify_ready(std::string_view status);

/// "STOPPING=1": the server took its stop signal and is shutting down. As notify_ready otherwise.
void notify_stopping();

/// The file of the systemd credential `name`, $CREDENTIALS_DIRECTORY/`name`, when that variable is set and the file
/// exists; std::nullopt otherwise. `name` is one of ours ("admin-token"), never taken from input.
[[nodiscard]] std::optional<std::filesystem::path> credential_file(std::string_view name);

}  // namespace fdo::tool
