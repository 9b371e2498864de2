#include "libfdo/tpm/tpm.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/random.h"

namespace fdo::tpm {
namespace {

// ---- Errors ----

[[noreturn]] void fail(std::string_view what, TSS2_RC rc) {
  std::string message = "TPM: " + std::string(what) + " failed: " + Tss2_RC_Decode(rc);
  const TSS2_RC base = rc & 0xFFF;
  if (base == TPM2_RC_LOCKOUT) {
    message += " (the TPM is in dictionary-attack lockout; wait or reset it with the lockout authorisation)";
  } else if (base == TPM2_RC_NV_SPACE) {
    message += " (the TPM's NV memory is full)";
  } else if (base == TPM2_RC_OBJECT_MEMORY) {
    message += " (no free transient slot: another process left objects loaded; restart the TPM or use a "
               "resource manager such as /dev/tpmrm0)";
  }
  throw_internal(message);
}

void check(std::string_view what, TSS2_RC rc) {
  if (rc != TSS2_RC_SUCCESS) {
    fail(what, rc);
  }
}

// Whether `rc` is the format-one TPM error `code` (Part 2 §6.6), for any handle/parameter number.
bool is_fmt1(TSS2_RC rc, TSS2_RC code) { return (rc & TPM2_RC_FMT1) != 0 && (rc & 0xBF) == code; }

// ESAPI allocates outputs with calloc; Esys_Free releases them.
template <typename T>
struct EsysPtr {
  T* p = nullptr;
  EsysPtr() = default;
  EsysPtr(const EsysPtr&) = delete;
  EsysPtr& operator=(const EsysPtr&) = delete;
  ~EsysPtr() { Esys_Free(p); }
  T** out() { return &p; }
  T* operator->() const { return p; }
};

TPMI_ALG_HASH tpm_hash(crypto::HashAlg alg) { return alg == crypto::HashAlg::Sha384 ? TPM2_ALG_SHA384 : TPM2_ALG_SHA256; }

std::optional<crypto::HashAlg> from_tpm_hash(TPMI_ALG_HASH alg) {
  if (alg == TPM2_ALG_SHA256) {
    return crypto::HashAlg::Sha256;
  }
  if (alg == TPM2_ALG_SHA384) {
    return crypto::HashAlg::Sha384;
  }
  return std::nullopt;
}

// Left-pads a big-endian integer to `size` bytes.
Bytes left_pad(const std::uint8_t* data, std::size_t len, std::size_t size) {
  if (len > size) {
    throw_internal("TPM: a signature half is longer than the field size");
  }
  Bytes out(size - len, 0);
  out.insert(out.end(), data, data + len);
  return out;
}

template <typename B>
void fill(B& b, ByteView data, std::string_view what) {
  if (data.size() > sizeof(b.buffer)) {
    throw_internal("TPM: " + std::string(what) + " of " + std::to_string(data.size()) + " bytes is too large");
  }
  b.size = static_cast<UINT16>(data.size());
  if (!data.empty()) {
    std::memcpy(b.buffer, data.data(), data.size());
  }
}

// FDO-in-TPM Table 11 object attributes: fixedTPM, fixedParent, sensitiveDataOrigin, sign; userWithAuth clear
// (use only through the Table 12 policy).
constexpr TPMA_OBJECT kFdoKeyAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_SIGN_ENCRYPT;

TPM2B_PUBLIC ecc_template(crypto::KeyType curve, ByteView unique, ByteView auth_policy) {
  const bool p384 = curve == crypto::KeyType::P384;
  const std::size_t half = p384 ? 48 : 32;
  if (unique.size() != 2 * half) {
    throw_internal("TPM: the device key U/S must be " + std::to_string(2 * half) + " bytes");
  }
  TPM2B_PUBLIC pub{};
  TPMT_PUBLIC& t = pub.publicArea;
  t.type = TPM2_ALG_ECC;
  t.nameAlg = p384 ? TPM2_ALG_SHA384 : TPM2_ALG_SHA256;
  t.objectAttributes = kFdoKeyAttributes;
  fill(t.authPolicy, auth_policy, "authPolicy");
  t.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  t.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  t.parameters.eccDetail.scheme.details.ecdsa.hashAlg = t.nameAlg;
  t.parameters.eccDetail.curveID = p384 ? TPM2_ECC_NIST_P384 : TPM2_ECC_NIST_P256;
  t.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  fill(t.unique.ecc.x, unique.subspan(0, half), "unique.x");
  fill(t.unique.ecc.y, unique.subspan(half), "unique.y");
  return pub;
}

TPM2B_PUBLIC hmac_template(crypto::HashAlg alg, ByteView unique, ByteView auth_policy) {
  TPM2B_PUBLIC pub{};
  TPMT_PUBLIC& t = pub.publicArea;
  t.type = TPM2_ALG_KEYEDHASH;
  t.nameAlg = tpm_hash(alg);
  t.objectAttributes = kFdoKeyAttributes;
  fill(t.authPolicy, auth_policy, "authPolicy");
  t.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_HMAC;
  t.parameters.keyedHashDetail.scheme.details.hmac.hashAlg = t.nameAlg;
  fill(t.unique.keyedHash, unique, "unique");
  return pub;
}

TPM2B_PUBLIC app_template(crypto::KeyType curve, ByteView unique) {
  TPM2B_PUBLIC pub = ecc_template(curve, unique, {});
  pub.publicArea.objectAttributes = kFdoKeyAttributes | TPMA_OBJECT_USERWITHAUTH;
  return pub;
}

ObjectPublic to_object_public(const TPMT_PUBLIC& t, const TPM2B_NAME& name) {
  ObjectPublic out;
  out.attributes = t.objectAttributes;
  out.name_alg = from_tpm_hash(t.nameAlg).value_or(crypto::HashAlg::Sha256);
  out.auth_policy.assign(t.authPolicy.buffer, t.authPolicy.buffer + t.authPolicy.size);
  out.name.assign(name.name, name.name + name.size);
  if (t.type == TPM2_ALG_ECC) {
    out.kind = ObjectPublic::Kind::Ecc;
    if (t.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256) {
      out.curve = crypto::KeyType::P256;
    } else if (t.parameters.eccDetail.curveID == TPM2_ECC_NIST_P384) {
      out.curve = crypto::KeyType::P384;
    }
    if (t.parameters.eccDetail.scheme.scheme == TPM2_ALG_ECDSA) {
      out.scheme_hash = from_tpm_hash(t.parameters.eccDetail.scheme.details.ecdsa.hashAlg);
    }
    out.x.assign(t.unique.ecc.x.buffer, t.unique.ecc.x.buffer + t.unique.ecc.x.size);
    out.y.assign(t.unique.ecc.y.buffer, t.unique.ecc.y.buffer + t.unique.ecc.y.size);
  } else if (t.type == TPM2_ALG_KEYEDHASH) {
    out.kind = ObjectPublic::Kind::KeyedHash;
    if (t.parameters.keyedHashDetail.scheme.scheme == TPM2_ALG_HMAC) {
      out.scheme_hash = from_tpm_hash(t.parameters.keyedHashDetail.scheme.details.hmac.hashAlg);
    }
  } else if (t.type == TPM2_ALG_RSA) {
    out.kind = ObjectPublic::Kind::Rsa;
  }
  return out;
}

Bytes signature_bytes(const TPMT_SIGNATURE& sig, std::size_t field_size) {
  if (sig.sigAlg != TPM2_ALG_ECDSA) {
    throw_internal("TPM: the key did not produce an ECDSA signature");
  }
  const TPMS_SIGNATURE_ECDSA& e = sig.signature.ecdsa;
  Bytes out = left_pad(e.signatureR.buffer, e.signatureR.size, field_size);
  const Bytes s = left_pad(e.signatureS.buffer, e.signatureS.size, field_size);
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

}  // namespace

struct Tpm::Impl {
  TSS2_TCTI_CONTEXT* tcti = nullptr;
  ESYS_CONTEXT* esys = nullptr;
  std::optional<std::uint32_t> nv_buffer_max;

  ~Impl() {
    if (esys != nullptr) {
      Esys_Finalize(&esys);
    }
    if (tcti != nullptr) {
      Tss2_TctiLdr_Finalize(&tcti);
    }
  }

  // An ESYS_TR that is flushed (transient objects, sessions, sequences) or closed (persistent objects and NV
  // indices: only the metadata goes) when it goes out of scope.
  class Handle {
   public:
    Handle(Impl& impl, ESYS_TR tr, bool flush) : m_impl(&impl), m_tr(tr), m_flush(flush) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { reset(); }
    [[nodiscard]] ESYS_TR get() const { return m_tr; }
    // The TPM consumed or removed the object (EvictControl of a persistent, SequenceComplete).
    void forget() { m_tr = ESYS_TR_NONE; }
    void reset() {
      if (m_tr == ESYS_TR_NONE) {
        return;
      }
      if (m_flush) {
        static_cast<void>(Esys_FlushContext(m_impl->esys, m_tr));
      } else {
        static_cast<void>(Esys_TR_Close(m_impl->esys, &m_tr));
      }
      m_tr = ESYS_TR_NONE;
    }

   private:
    Impl* m_impl;
    ESYS_TR m_tr;
    bool m_flush;
  };

  // A persistent object or NV index by its TPM handle; nullopt when absent.
  std::optional<ESYS_TR> try_from_public(std::uint32_t handle) {
    ESYS_TR tr = ESYS_TR_NONE;
    const TSS2_RC rc = Esys_TR_FromTPMPublic(esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
    if (rc != TSS2_RC_SUCCESS) {
      if (is_fmt1(rc, TPM2_RC_HANDLE)) {
        return std::nullopt;
      }
      fail("reading handle " + handle_text(handle), rc);
    }
    return tr;
  }

  Handle from_public(std::uint32_t handle) {
    const std::optional<ESYS_TR> tr = try_from_public(handle);
    if (!tr) {
      throw_internal("TPM: nothing at handle " + handle_text(handle));
    }
    return Handle(*this, *tr, false);
  }

  // ReadPublic of a loaded or persistent object: its public area (and, when asked, marshalled) and Name.
  ObjectPublic read_object(ESYS_TR object, std::string_view what, Bytes* marshalled = nullptr) {
    EsysPtr<TPM2B_PUBLIC> pub;
    EsysPtr<TPM2B_NAME> name;
    EsysPtr<TPM2B_NAME> qualified;
    check("ReadPublic " + std::string(what), Esys_ReadPublic(esys, object, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                             pub.out(), name.out(), qualified.out()));
    if (marshalled != nullptr) {
      marshalled->assign(sizeof(TPMT_PUBLIC), 0);
      size_t offset = 0;
      check("marshalling TPMT_PUBLIC",
            Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, marshalled->data(), marshalled->size(), &offset));
      marshalled->resize(offset);
    }
    return to_object_public(pub->publicArea, *name.p);
  }

  Handle start_session(TPM2_SE type, crypto::HashAlg alg) {
    const TPMT_SYM_DEF symmetric{.algorithm = TPM2_ALG_NULL, .keyBits = {}, .mode = {}};
    ESYS_TR session = ESYS_TR_NONE;
    check("StartAuthSession",
          Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nullptr,
                                type, &symmetric, tpm_hash(alg), &session));
    return Handle(*this, session, true);
  }

  // FDO-in-TPM Table 12 on `session`: PolicyNV(U/S ≥ 0 at offset 0) then PolicySecret(U/S).
  void run_us_policy(ESYS_TR session, std::uint32_t index) {
    const Handle nv = from_public(index);
    TPM2B_OPERAND operand{};
    operand.size = 1;
    operand.buffer[0] = 0x00;
    check("PolicyNV", Esys_PolicyNV(esys, nv.get(), nv.get(), session, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &operand, 0, TPM2_EO_UNSIGNED_GE));
    const TPM2B_NONCE nonce{};
    const TPM2B_DIGEST cp_hash{};
    const TPM2B_NONCE policy_ref{};
    EsysPtr<TPM2B_TIMEOUT> timeout;
    EsysPtr<TPMT_TK_AUTH> ticket;
    check("PolicySecret", Esys_PolicySecret(esys, nv.get(), session, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                            &nonce, &cp_hash, &policy_ref, 0, timeout.out(), ticket.out()));
  }

  // The session that authorises a key: a satisfied policy session, or the password session.
  std::unique_ptr<Handle> key_session(const KeyAuth& auth) {
    if (!auth.policy_index) {
      return nullptr;
    }
    const TPMT_SYM_DEF symmetric{.algorithm = TPM2_ALG_NULL, .keyBits = {}, .mode = {}};
    ESYS_TR tr = ESYS_TR_NONE;
    check("StartAuthSession",
          Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nullptr,
                                TPM2_SE_POLICY, &symmetric, tpm_hash(auth.policy_hash), &tr));
    auto session = std::make_unique<Handle>(*this, tr, true);
    run_us_policy(session->get(), *auth.policy_index);
    return session;
  }

  Handle create_primary(const TPM2B_PUBLIC& in_public, TPM2B_PUBLIC** out_public) {
    const TPM2B_SENSITIVE_CREATE sensitive{};
    const TPM2B_DATA outside{};
    const TPML_PCR_SELECTION creation_pcr{};
    ESYS_TR object = ESYS_TR_NONE;
    EsysPtr<TPM2B_CREATION_DATA> creation_data;
    EsysPtr<TPM2B_DIGEST> creation_hash;
    EsysPtr<TPMT_TK_CREATION> creation_ticket;
    check("CreatePrimary (Endorsement hierarchy)",
          Esys_CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                             &in_public, &outside, &creation_pcr, &object, out_public, creation_data.out(),
                             creation_hash.out(), creation_ticket.out()));
    return Handle(*this, object, true);
  }

  ObjectPublic persist(const TPM2B_PUBLIC& in_public, std::uint32_t persistent) {
    EsysPtr<TPM2B_PUBLIC> out_public;
    Handle transient = create_primary(in_public, out_public.out());
    evict(persistent);
    ESYS_TR persisted = ESYS_TR_NONE;
    check("EvictControl (persist at " + handle_text(persistent) + ")",
          Esys_EvictControl(esys, ESYS_TR_RH_OWNER, transient.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                            persistent, &persisted));
    Handle keep(*this, persisted, false);
    return read_object(persisted, handle_text(persistent));
  }

  void evict(std::uint32_t persistent) {
    const std::optional<ESYS_TR> tr = try_from_public(persistent);
    if (!tr) {
      return;
    }
    Handle old(*this, *tr, false);
    ESYS_TR none = ESYS_TR_NONE;
    check("EvictControl (remove " + handle_text(persistent) + ")",
          Esys_EvictControl(esys, ESYS_TR_RH_OWNER, old.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                            persistent, &none));
    // The ESYS metadata of the evicted object stays until closed (old's destructor): a later lookup of the same
    // handle would otherwise find a Name mismatch.
  }

  Bytes hmac_with(ESYS_TR key, const KeyAuth& auth, ByteView data) {
    const std::unique_ptr<Handle> session = key_session(auth);
    TPM2B_AUTH seq_auth{};
    const Bytes r = random_bytes(16);
    fill(seq_auth, r, "sequence auth");
    ESYS_TR seq = ESYS_TR_NONE;
    check("HMAC_Start", Esys_HMAC_Start(esys, key, session ? session->get() : ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                        ESYS_TR_NONE, &seq_auth, TPM2_ALG_NULL, &seq));
    Handle sequence(*this, seq, true);
    check("TR_SetAuth", Esys_TR_SetAuth(esys, seq, &seq_auth));
    // Part 3 §17.4: SequenceUpdate takes at most one TPM2B_MAX_BUFFER (1024 bytes on PC-client TPMs).
    constexpr std::size_t kChunk = 1024;
    std::size_t offset = 0;
    while (data.size() - offset > kChunk) {
      TPM2B_MAX_BUFFER buffer{};
      fill(buffer, data.subspan(offset, kChunk), "HMAC input");
      check("SequenceUpdate",
            Esys_SequenceUpdate(esys, seq, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &buffer));
      offset += kChunk;
    }
    TPM2B_MAX_BUFFER last{};
    fill(last, data.subspan(offset), "HMAC input");
    EsysPtr<TPM2B_DIGEST> result;
    EsysPtr<TPMT_TK_HASHCHECK> validation;
    check("SequenceComplete", Esys_SequenceComplete(esys, seq, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &last,
                                                    ESYS_TR_RH_NULL, result.out(), validation.out()));
    sequence.forget();  // SequenceComplete flushed the sequence object.
    return Bytes(result->buffer, result->buffer + result->size);
  }
};

std::string handle_text(std::uint32_t handle) {
  char buf[11] = {};
  std::snprintf(buf, sizeof buf, "0x%08x", handle);
  return buf;
}

namespace {

std::string bits_text(std::uint32_t value, const std::vector<std::pair<std::uint32_t, const char*>>& names) {
  std::string out;
  for (const auto& [bit, name] : names) {
    if ((value & bit) != 0) {
      out += out.empty() ? "" : "|";
      out += name;
    }
  }
  return out.empty() ? "none" : out;
}

}  // namespace

std::string nv_attributes_text(std::uint32_t a) {
  return bits_text(a, {{0x1, "ppwrite"},
                       {nv_attr::kOwnerWrite, "ownerwrite"},
                       {nv_attr::kAuthWrite, "authwrite"},
                       {nv_attr::kPolicyWrite, "policywrite"},
                       {0x400, "policy_delete"},
                       {nv_attr::kWriteLocked, "writelocked"},
                       {0x1000, "writeall"},
                       {0x2000, "writedefine"},
                       {0x4000, "write_stclear"},
                       {0x10000, "ppread"},
                       {nv_attr::kOwnerRead, "ownerread"},
                       {nv_attr::kAuthRead, "authread"},
                       {0x80000, "policyread"},
                       {nv_attr::kNoDa, "no_da"},
                       {0x4000000, "orderly"},
                       {0x8000000, "clear_stclear"},
                       {0x10000000, "readlocked"},
                       {nv_attr::kWritten, "written"},
                       {nv_attr::kPlatformCreate, "platformcreate"},
                       {0x80000000, "read_stclear"}});
}

std::string object_attributes_text(std::uint32_t a) {
  return bits_text(a, {{obj_attr::kFixedTpm, "fixedtpm"},
                       {0x4, "stclear"},
                       {obj_attr::kFixedParent, "fixedparent"},
                       {obj_attr::kSensitiveDataOrigin, "sensitivedataorigin"},
                       {obj_attr::kUserWithAuth, "userwithauth"},
                       {obj_attr::kAdminWithPolicy, "adminwithpolicy"},
                       {obj_attr::kNoDa, "noda"},
                       {0x800, "encryptedduplication"},
                       {obj_attr::kRestricted, "restricted"},
                       {obj_attr::kDecrypt, "decrypt"},
                       {obj_attr::kSign, "sign"}});
}

Tpm::Tpm(std::unique_ptr<Impl> impl, std::string tcti) : m_impl(std::move(impl)), m_tcti(std::move(tcti)) {}
Tpm::~Tpm() = default;

std::unique_ptr<Tpm> Tpm::open(std::string_view tcti) {
  // The TSS logs every TPM error to stderr, including the expected "no such handle" of a lookup; our errors say
  // what failed. TSS2_LOG set by the user (e.g. all+debug) wins.
  setenv("TSS2_LOG", "all+NONE", 0);
  auto impl = std::make_unique<Impl>();
  const std::string conf(tcti);
  TSS2_RC rc = Tss2_TctiLdr_Initialize(conf.c_str(), &impl->tcti);
  if (rc != TSS2_RC_SUCCESS) {
    throw_internal("TPM: cannot reach a TPM at '" + conf + "' (" + Tss2_RC_Decode(rc) +
                   "); is the TPM or swtpm running, and is the TCTI string right (swtpm:host=H,port=P, "
                   "device:/dev/tpmrm0, mssim:host=H,port=P, tabrmd)?");
  }
  rc = Esys_Initialize(&impl->esys, impl->tcti, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    fail("Esys_Initialize on '" + conf + "'", rc);
  }
  rc = Esys_Startup(impl->esys, TPM2_SU_CLEAR);
  // TPM_RC_INITIALIZE: already started (swtpm --flags startup-clear, or firmware).
  if (rc != TSS2_RC_SUCCESS && (rc & 0xFFF) != TPM2_RC_INITIALIZE) {
    fail("TPM2_Startup on '" + conf + "'", rc);
  }
  return std::unique_ptr<Tpm>(new Tpm(std::move(impl), conf));
}

std::optional<std::uint32_t> Tpm::property(std::uint32_t pt) {
  TPMI_YES_NO more = TPM2_NO;
  EsysPtr<TPMS_CAPABILITY_DATA> data;
  check("GetCapability(properties)", Esys_GetCapability(m_impl->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                        TPM2_CAP_TPM_PROPERTIES, pt, 1, &more, data.out()));
  const TPML_TAGGED_TPM_PROPERTY& props = data->data.tpmProperties;
  for (UINT32 i = 0; i < props.count; ++i) {
    if (props.tpmProperty[i].property == pt) {
      return props.tpmProperty[i].value;
    }
  }
  return std::nullopt;
}

std::string Tpm::describe() {
  auto four_chars = [](std::optional<std::uint32_t> v) {
    std::string s;
    if (v) {
      for (int shift = 24; shift >= 0; shift -= 8) {
        const char c = static_cast<char>((*v >> shift) & 0xFF);
        if (c >= 0x20 && c < 0x7F) {
          s += c;
        }
      }
    }
    return s;
  };
  const std::optional<std::uint32_t> revision = property(TPM2_PT_REVISION);
  std::string out = four_chars(property(TPM2_PT_MANUFACTURER)) + " " + four_chars(property(TPM2_PT_VENDOR_STRING_1));
  if (revision) {
    out += " rev " + std::to_string(*revision / 100) + "." + std::to_string(*revision % 100);
  }
  return out;
}

std::vector<std::uint32_t> Tpm::handles(std::uint32_t first, std::uint32_t count) {
  std::vector<std::uint32_t> out;
  std::uint32_t next = first;
  const std::uint64_t end = static_cast<std::uint64_t>(first) + count;
  TPMI_YES_NO more = TPM2_YES;
  while (more == TPM2_YES && next < end) {
    EsysPtr<TPMS_CAPABILITY_DATA> data;
    check("GetCapability(handles)", Esys_GetCapability(m_impl->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                       TPM2_CAP_HANDLES, next, TPM2_MAX_CAP_HANDLES, &more,
                                                       data.out()));
    const TPML_HANDLE& list = data->data.handles;
    if (list.count == 0) {
      break;
    }
    for (UINT32 i = 0; i < list.count; ++i) {
      if (list.handle[i] >= first && list.handle[i] < end) {
        out.push_back(list.handle[i]);
      }
    }
    next = list.handle[list.count - 1] + 1;
  }
  return out;
}

bool Tpm::in_lockout() {
  const std::optional<std::uint32_t> permanent = property(TPM2_PT_PERMANENT);
  return permanent && (*permanent & TPMA_PERMANENT_INLOCKOUT) != 0;
}

std::optional<NvPublic> Tpm::nv_public(std::uint32_t index) {
  const std::optional<ESYS_TR> tr = m_impl->try_from_public(index);
  if (!tr) {
    return std::nullopt;
  }
  const Impl::Handle nv(*m_impl, *tr, false);
  EsysPtr<TPM2B_NV_PUBLIC> pub;
  EsysPtr<TPM2B_NAME> name;
  check("NV_ReadPublic", Esys_NV_ReadPublic(m_impl->esys, nv.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                            pub.out(), name.out()));
  return NvPublic{.index = index, .attributes = pub->nvPublic.attributes, .size = pub->nvPublic.dataSize};
}

void Tpm::nv_define(std::uint32_t index, std::uint16_t size, std::uint32_t attributes) {
  const TPM2B_AUTH auth{};
  TPM2B_NV_PUBLIC pub{};
  pub.nvPublic.nvIndex = index;
  pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
  pub.nvPublic.attributes = attributes;
  pub.nvPublic.dataSize = size;
  ESYS_TR tr = ESYS_TR_NONE;
  check("NV_DefineSpace " + handle_text(index),
        Esys_NV_DefineSpace(m_impl->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &auth,
                            &pub, &tr));
  const Impl::Handle close(*m_impl, tr, false);
}

void Tpm::nv_undefine(std::uint32_t index) {
  const std::optional<NvPublic> pub = nv_public(index);
  if (!pub) {
    return;
  }
  Impl::Handle nv = m_impl->from_public(index);
  const ESYS_TR hierarchy = (pub->attributes & nv_attr::kPlatformCreate) != 0 ? ESYS_TR_RH_PLATFORM : ESYS_TR_RH_OWNER;
  check("NV_UndefineSpace " + handle_text(index),
        Esys_NV_UndefineSpace(m_impl->esys, hierarchy, nv.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE));
  nv.forget();  // Undefining removed the ESYS metadata too.
}

namespace {
std::uint16_t chunk_size(std::optional<std::uint32_t>& cached, Tpm& tpm) {
  if (!cached) {
    cached = tpm.property(TPM2_PT_NV_BUFFER_MAX).value_or(512);
  }
  return static_cast<std::uint16_t>(std::clamp<std::uint32_t>(*cached, 64, TPM2_MAX_NV_BUFFER_SIZE));
}
}  // namespace

Bytes Tpm::nv_read(std::uint32_t index, std::uint16_t size, std::uint16_t offset) {
  const Impl::Handle nv = m_impl->from_public(index);
  const std::uint16_t chunk = chunk_size(m_impl->nv_buffer_max, *this);
  Bytes out;
  out.reserve(size);
  while (out.size() < size) {
    const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(chunk, size - out.size()));
    EsysPtr<TPM2B_MAX_NV_BUFFER> data;
    check("NV_Read " + handle_text(index),
          Esys_NV_Read(m_impl->esys, nv.get(), nv.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
                       static_cast<std::uint16_t>(offset + out.size()), data.out()));
    out.insert(out.end(), data->buffer, data->buffer + data->size);
    if (data->size == 0) {
      break;
    }
  }
  return out;
}

void Tpm::nv_write(std::uint32_t index, ByteView data, std::uint16_t offset) {
  const Impl::Handle nv = m_impl->from_public(index);
  const std::uint16_t chunk = chunk_size(m_impl->nv_buffer_max, *this);
  std::size_t done = 0;
  while (done < data.size()) {
    const std::size_t n = std::min<std::size_t>(chunk, data.size() - done);
    TPM2B_MAX_NV_BUFFER buffer{};
    fill(buffer, data.subspan(done, n), "NV data");
    check("NV_Write " + handle_text(index),
          Esys_NV_Write(m_impl->esys, nv.get(), nv.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &buffer,
                        static_cast<std::uint16_t>(offset + done)));
    done += n;
  }
}

void Tpm::nv_write_lock(std::uint32_t index) {
  const Impl::Handle nv = m_impl->from_public(index);
  check("NV_WriteLock " + handle_text(index),
        Esys_NV_WriteLock(m_impl->esys, nv.get(), nv.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE));
}

std::optional<ObjectPublic> Tpm::read_public(std::uint32_t persistent) {
  const std::optional<ESYS_TR> tr = m_impl->try_from_public(persistent);
  if (!tr) {
    return std::nullopt;
  }
  const Impl::Handle object(*m_impl, *tr, false);
  return m_impl->read_object(object.get(), handle_text(persistent));
}

ObjectPublic Tpm::create_persistent_ecc(std::uint32_t persistent, crypto::KeyType curve, ByteView unique,
                                        ByteView auth_policy) {
  return m_impl->persist(ecc_template(curve, unique, auth_policy), persistent);
}

ObjectPublic Tpm::create_persistent_hmac(std::uint32_t persistent, crypto::HashAlg alg, ByteView unique,
                                         ByteView auth_policy) {
  return m_impl->persist(hmac_template(alg, unique, auth_policy), persistent);
}

Bytes Tpm::hmac_key_name(crypto::HashAlg alg, ByteView unique, ByteView auth_policy) {
  EsysPtr<TPM2B_PUBLIC> out_public;
  const Impl::Handle transient = m_impl->create_primary(hmac_template(alg, unique, auth_policy), out_public.out());
  return m_impl->read_object(transient.get(), "of the next HMAC key").name;
}

void Tpm::evict(std::uint32_t persistent) { m_impl->evict(persistent); }

ObjectPublic Tpm::app_key_public(crypto::KeyType curve, ByteView unique) {
  EsysPtr<TPM2B_PUBLIC> out_public;
  const Impl::Handle key = m_impl->create_primary(app_template(curve, unique), out_public.out());
  return to_object_public(out_public->publicArea, TPM2B_NAME{});
}

Bytes Tpm::app_key_sign(crypto::KeyType curve, ByteView unique, ByteView digest) {
  EsysPtr<TPM2B_PUBLIC> out_public;
  const Impl::Handle key = m_impl->create_primary(app_template(curve, unique), out_public.out());
  TPM2B_DIGEST in{};
  fill(in, digest, "digest");
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;
  TPMT_TK_HASHCHECK validation{};
  validation.tag = TPM2_ST_HASHCHECK;
  validation.hierarchy = TPM2_RH_NULL;
  EsysPtr<TPMT_SIGNATURE> sig;
  check("Sign", Esys_Sign(m_impl->esys, key.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &in, &scheme,
                          &validation, sig.out()));
  return signature_bytes(*sig.p, curve == crypto::KeyType::P384 ? 48 : 32);
}

ObjectPublic Tpm::persist_app_key(std::uint32_t persistent, crypto::KeyType curve, ByteView unique) {
  return m_impl->persist(app_template(curve, unique), persistent);
}

Bytes Tpm::marshalled_public(std::uint32_t persistent) {
  const Impl::Handle object = m_impl->from_public(persistent);
  Bytes out;
  static_cast<void>(m_impl->read_object(object.get(), handle_text(persistent), &out));
  return out;
}

ObjectPublic Tpm::ensure_attestation_key(std::uint32_t persistent) {
  if (std::optional<ObjectPublic> existing = read_public(persistent)) {
    return *existing;
  }
  TPM2B_PUBLIC pub{};
  TPMT_PUBLIC& t = pub.publicArea;
  t.type = TPM2_ALG_ECC;
  t.nameAlg = TPM2_ALG_SHA256;
  t.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                       TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  t.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  t.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  t.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  t.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  t.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return m_impl->persist(pub, persistent);
}

AttestQuote decode_quote(ByteView attest) {
  TPMS_ATTEST a{};
  size_t offset = 0;
  if (Tss2_MU_TPMS_ATTEST_Unmarshal(attest.data(), attest.size(), &offset, &a) != TSS2_RC_SUCCESS ||
      offset != attest.size()) {
    throw_body_error("TPMS_ATTEST: does not unmarshal");
  }
  AttestQuote q;
  q.magic = a.magic;
  q.type = a.type;
  q.qualified_signer.assign(a.qualifiedSigner.name, a.qualifiedSigner.name + a.qualifiedSigner.size);
  q.extra_data.assign(a.extraData.buffer, a.extraData.buffer + a.extraData.size);
  q.clock = a.clockInfo.clock;
  q.reset_count = a.clockInfo.resetCount;
  q.restart_count = a.clockInfo.restartCount;
  if (a.type != TPM2_ST_ATTEST_QUOTE) {
    return q;
  }
  const TPMS_QUOTE_INFO& info = a.attested.quote;
  if (info.pcrSelect.count != 1) {
    throw_body_error("TPMS_ATTEST: the quote selects " + std::to_string(info.pcrSelect.count) + " banks, not one");
  }
  const TPMS_PCR_SELECTION& sel = info.pcrSelect.pcrSelections[0];
  q.bank = sel.hash;
  for (unsigned i = 0; i < static_cast<unsigned>(sel.sizeofSelect) * 8; ++i) {
    if ((sel.pcrSelect[i / 8] & (1U << (i % 8))) != 0) {
      q.pcrs.push_back(i);
    }
  }
  q.pcr_digest.assign(info.pcrDigest.buffer, info.pcrDigest.buffer + info.pcrDigest.size);
  return q;
}

ObjectPublic decode_public(ByteView tpmt_public) {
  TPMT_PUBLIC t{};
  size_t offset = 0;
  if (Tss2_MU_TPMT_PUBLIC_Unmarshal(tpmt_public.data(), tpmt_public.size(), &offset, &t) != TSS2_RC_SUCCESS ||
      offset != tpmt_public.size()) {
    throw_body_error("TPMT_PUBLIC: does not unmarshal");
  }
  return to_object_public(t, TPM2B_NAME{});
}

Bytes decode_ecdsa_signature(ByteView tpmt_signature, std::size_t field_size) {
  TPMT_SIGNATURE sig{};
  size_t offset = 0;
  if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(tpmt_signature.data(), tpmt_signature.size(), &offset, &sig) !=
          TSS2_RC_SUCCESS ||
      offset != tpmt_signature.size() || sig.sigAlg != TPM2_ALG_ECDSA) {
    throw_body_error("TPMT_SIGNATURE: not a marshalled ECDSA signature");
  }
  try {
    return signature_bytes(sig, field_size);
  } catch (const Error&) {
    throw_body_error("TPMT_SIGNATURE: r or s longer than the curve's field");
  }
}

Bytes Tpm::us_policy_digest(std::uint32_t index, crypto::HashAlg alg) {
  const Impl::Handle trial = m_impl->start_session(TPM2_SE_TRIAL, alg);
  m_impl->run_us_policy(trial.get(), index);
  EsysPtr<TPM2B_DIGEST> digest;
  check("PolicyGetDigest",
        Esys_PolicyGetDigest(m_impl->esys, trial.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, digest.out()));
  return Bytes(digest->buffer, digest->buffer + digest->size);
}

Bytes Tpm::sign_digest(std::uint32_t persistent, const KeyAuth& auth, ByteView digest, std::size_t field_size) {
  const Impl::Handle key = m_impl->from_public(persistent);
  const std::unique_ptr<Impl::Handle> session = m_impl->key_session(auth);
  TPM2B_DIGEST in{};
  fill(in, digest, "digest");
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;  // the key's own scheme (ECDSA with its hash)
  // Part 3 §20.2: an unrestricted key takes the null ticket.
  TPMT_TK_HASHCHECK validation{};
  validation.tag = TPM2_ST_HASHCHECK;
  validation.hierarchy = TPM2_RH_NULL;
  EsysPtr<TPMT_SIGNATURE> sig;
  check("Sign", Esys_Sign(m_impl->esys, key.get(), session ? session->get() : ESYS_TR_PASSWORD, ESYS_TR_NONE,
                          ESYS_TR_NONE, &in, &scheme, &validation, sig.out()));
  return signature_bytes(*sig.p, field_size);
}

Bytes Tpm::hmac(std::uint32_t persistent, const KeyAuth& auth, ByteView data) {
  const Impl::Handle key = m_impl->from_public(persistent);
  return m_impl->hmac_with(key.get(), auth, data);
}

Bytes Tpm::hmac_transient(crypto::HashAlg alg, ByteView unique, ByteView auth_policy, const KeyAuth& auth,
                          ByteView data) {
  EsysPtr<TPM2B_PUBLIC> out_public;
  const Impl::Handle key = m_impl->create_primary(hmac_template(alg, unique, auth_policy), out_public.out());
  return m_impl->hmac_with(key.get(), auth, data);
}

namespace {
TPML_PCR_SELECTION sha256_selection(const std::vector<unsigned>& pcrs) {
  TPML_PCR_SELECTION sel{};
  sel.count = 1;
  sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
  sel.pcrSelections[0].sizeofSelect = 3;
  for (const unsigned pcr : pcrs) {
    if (pcr >= 24) {
      throw_internal("TPM: PCR " + std::to_string(pcr) + " does not exist (0-23)");
    }
    sel.pcrSelections[0].pcrSelect[pcr / 8] |= static_cast<BYTE>(1U << (pcr % 8));
  }
  return sel;
}
}  // namespace

Quote Tpm::quote(std::uint32_t persistent, const KeyAuth& auth, ByteView nonce, const std::vector<unsigned>& pcrs,
                 std::size_t field_size) {
  const Impl::Handle key = m_impl->from_public(persistent);
  const std::unique_ptr<Impl::Handle> session = m_impl->key_session(auth);
  TPM2B_DATA qualifying{};
  fill(qualifying, nonce, "nonce");
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;
  const TPML_PCR_SELECTION selection = sha256_selection(pcrs);
  EsysPtr<TPM2B_ATTEST> attest;
  EsysPtr<TPMT_SIGNATURE> sig;
  check("Quote", Esys_Quote(m_impl->esys, key.get(), session ? session->get() : ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, &qualifying, &scheme, &selection, attest.out(), sig.out()));
  Bytes marshalled(sizeof(TPMT_SIGNATURE));
  size_t offset = 0;
  check("marshalling TPMT_SIGNATURE", Tss2_MU_TPMT_SIGNATURE_Marshal(sig.p, marshalled.data(), marshalled.size(),
                                                                     &offset));
  marshalled.resize(offset);
  return Quote{.attest = Bytes(attest->attestationData, attest->attestationData + attest->size),
               .signature = signature_bytes(*sig.p, field_size),
               .signature_tpm = std::move(marshalled)};
}

std::vector<Bytes> Tpm::pcr_read(const std::vector<unsigned>& pcrs) {
  std::vector<Bytes> out;
  // PCR_Read returns at most 8 digests per call: read one PCR at a time to keep the order simple.
  for (const unsigned pcr : pcrs) {
    const TPML_PCR_SELECTION selection = sha256_selection({pcr});
    UINT32 counter = 0;
    EsysPtr<TPML_PCR_SELECTION> selected;
    EsysPtr<TPML_DIGEST> values;
    check("PCR_Read", Esys_PCR_Read(m_impl->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &selection, &counter,
                                    selected.out(), values.out()));
    if (values->count != 1) {
      throw_internal("TPM: PCR " + std::to_string(pcr) + " of the SHA-256 bank is not allocated");
    }
    out.emplace_back(values->digests[0].buffer, values->digests[0].buffer + values->digests[0].size);
  }
  return out;
}

void Tpm::pcr_extend(unsigned pcr, ByteView digest32) {
  if (pcr >= 24 || digest32.size() != 32) {
    throw_internal("TPM: PCR_Extend takes a PCR 0-23 and a 32-byte SHA-256 digest");
  }
  TPML_DIGEST_VALUES values{};
  values.count = 1;
  values.digests[0].hashAlg = TPM2_ALG_SHA256;
  std::memcpy(values.digests[0].digest.sha256, digest32.data(), 32);
  check("PCR_Extend", Esys_PCR_Extend(m_impl->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                      ESYS_TR_NONE, &values));
}

}  // namespace fdo::tpm
