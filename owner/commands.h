#pragma once
// fdo-owner's subcommands (docs/cli.md). Each <name>_command.cpp defines one register_<name>() that adds its subcommand,
// options and action to a Commands (tools/common/commands.h); main.cpp is the list of registrations, so `serve`,
// `vouchers` and `devices` are added later as further files.

#include "tools/common/commands.h"

namespace fdo::owner_tool {

using tool::Commands;
using tool::kFailure;

/// `fdo-owner init`: the owner key and the device-application CA.
void register_init(Commands& commands);
/// `fdo-owner pubkey`: the owner public key, what a reseller extends vouchers to.
void register_pubkey(Commands& commands);
/// `fdo-owner to0`: register vouchers with their rendezvous servers by hand (FDO 1.1 §5.3).
void register_to0(Commands& commands);
/// `fdo-owner vouchers import|list|export`: the vouchers this owner holds (docs/owner.md).
void register_vouchers(Commands& commands);
/// `fdo-owner serve`: TO2, automatic TO0 and the admin API (docs/owner.md).
void register_serve(Commands& commands);
/// `fdo-owner devices list|show`: each device's state, step, error and TO0 expiry (docs/owner.md).
void register_devices(Commands& commands);

}  // namespace fdo::owner_tool
