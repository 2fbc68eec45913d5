// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

// Chainlink's own Operator and LINK token, compiled unchanged from the npm package
// @chainlink/contracts (pinned in scripts/setup.sh) for the compatibility tests.
import {Operator} from "@chainlink/contracts/src/v0.8/operatorforwarder/Operator.sol";
import {LinkToken} from "@chainlink/contracts/src/v0.8/shared/token/ERC677/LinkToken.sol";
