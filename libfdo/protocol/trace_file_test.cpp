#include "libfdo/protocol/trace_file.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/core/hex.h"

namespace fdo::protocol {
namespace {

std::string annotate(std::uint8_t type, std::string_view hex, bool decrypted = false) {
  return annotated_diag(type, from_hex(hex), decrypted);
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

const std::string kGuid = "000102030405060708090a0b0c0d0e0f";

TEST(TraceFile, SmallStructuresStayOnOneLineWithTheirPartsNamed) {
  // DI.SetHMAC = [HMac], HMac = [5 (HMAC-SHA256), 32 bytes] (FDO 1.1 §5.2.3).
  const std::string hmac = annotate(12,
                                    "81820558"
                                    "20" +
                                        std::string(64, '0'));
  EXPECT_TRUE(has(hmac, "; DI.SetHMAC (12, 37 bytes)\n")) << hmac;
  EXPECT_TRUE(has(hmac, "/ HMac: [hashtype = HMAC-SHA256, hash] /")) << hmac;
  // TO1.HelloRV = [Guid, eASigInfo = [-7, h'']] (FDO 1.1 §5.4.1).
  const std::string hello = annotate(30, "8250" + kGuid + "822640");
  EXPECT_TRUE(has(hello, "h'" + kGuid + "',")) << hello;
  EXPECT_TRUE(has(hello, "/ Guid /")) << hello;
  EXPECT_TRUE(has(hello, "[-7, h'']")) << hello;
  EXPECT_TRUE(has(hello, "/ eASigInfo: [sgType = StSECP256R1, Info] /")) << hello;
}

TEST(TraceFile, AnEmbeddedHeaderIsOpenedAndEveryPartNamed) {
  // DI.SetCredentials = [bstr .cbor OVHeader]; the header's RendezvousInfo has one directive with an instruction
  // FDO does not define (99), the device info "d", a SECP256R1 X509 key and a null OVDevCertChainHash.
  const std::string header =
      "86"
      "1865"
      "50" +
      kGuid +
      "81"
      "81"
      "82186341"
      "00"
      "6164"
      "830a014100"
      "f6";
  const std::string text = annotate(11,
                                    "8158"
                                    "23" +
                                        header);
  for (const std::string part :
       {"<< [", "/ OVHeader /", "/ OVHProtVer /", "/ OVGuid /", "/ OVRVInfo /", "/ RendezvousDirective 0 /",
        "[99, <<0>>]", "/ RVVariable 99 /", "\"d\",", "/ OVDeviceInfo /",
        "/ OVPubKey: [pkType = SECP256R1, pkEnc = X509, pkBody] /", "null", "/ OVDevCertChainHash /", "] >>"}) {
    EXPECT_TRUE(has(text, part)) << part << "\n" << text;
  }
}

TEST(TraceFile, APartOfTheWrongShapeIsShownPlainlyUnderItsName) {
  // The bstr that should hold an OVHeader holds a break byte: shown as bytes, still named.
  const std::string text = annotate(11, "8141ff");
  EXPECT_TRUE(has(text, "h'ff'")) << text;
  EXPECT_TRUE(has(text, "/ OVHeader /")) << text;
  // A HMac that is not a Hash keeps its name too.
  const std::string hmac = annotate(12, "81820102");
  EXPECT_TRUE(has(hmac, "[1, 2]")) << hmac;
  EXPECT_TRUE(has(hmac, "/ HMac /")) << hmac;
}

TEST(TraceFile, MalformedOrUnknownBodiesStillPrintEveryByte) {
  // Truncated: the printer's own notation with its error mark.
  const std::string truncated = annotate(12, "818205");
  EXPECT_TRUE(has(truncated, "<error")) << truncated;
  // A type the table does not know, and an encrypted message as it travels: plain notation.
  EXPECT_TRUE(has(annotate(99, "820102"), "[1, 2]"));
  const std::string travelling = annotate(70,
                                          "8343a10101a1054c000000000000000000000000"
                                          "41ff");
  EXPECT_TRUE(has(travelling, "as it travels: encrypted")) << travelling;
  EXPECT_FALSE(has(travelling, "NonceTO2ProveDv")) << travelling;
  EXPECT_TRUE(has(annotate(13, ""), "<empty>"));
}

TEST(TraceFile, ServiceInfoValuesAreMaskedButDevmodIsShown) {
  // TO2.DeviceServiceInfo = [IsMoreServiceInfo, [["devmod:os", <<"Linux">>], ["fdo_sys:filedesc", <<"x">>]]].
  const std::string text =
      annotate(68, "82f58282696465766d6f643a6f7346654c696e7578827066646f5f7379733a66696c6564657363426178", true);
  EXPECT_TRUE(has(text, "decrypted from the TO2 tunnel")) << text;
  EXPECT_TRUE(has(text, "[\"devmod:os\", <<\"Linux\">>]")) << text;
  EXPECT_TRUE(has(text, "<masked: 3 bytes>")) << text;
}

}  // namespace
}  // namespace fdo::protocol
