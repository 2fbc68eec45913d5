// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

// Contracts whose token functions answer oddly, for the token metadata tests: the batched
// calls (crates/evm/contracts/BatchStaticCall.sol) must give exactly what one eth_call per
// function gives. Compiled by scripts/compile-contracts.sh into artifacts.json.

/// A name longer than the part of an answer a batch keeps.
contract LongName {
    function name() external pure returns (string memory) {
        return "A token whose name is much longer than anyone would reasonably choose, so long that the batched call cannot hand it back whole and it has to be asked again with a call of its own: two hundred and sixty bytes.......";
    }

    function symbol() external pure returns (string memory) {
        return "LONG";
    }

    function decimals() external pure returns (uint8) {
        return 6;
    }

    function totalSupply() external pure returns (uint256) {
        return type(uint256).max;
    }
}

/// MKR-style metadata: bytes32 name and symbol, uint256 decimals, no totalSupply.
contract Bytes32Meta {
    function name() external pure returns (bytes32) {
        return "Maker";
    }

    function symbol() external pure returns (bytes32) {
        return "MKR";
    }

    function decimals() external pure returns (uint256) {
        return 18;
    }
}

/// Only the upper-case functions of some early tokens.
contract UpperCase {
    function NAME() external pure returns (string memory) {
        return "Upper";
    }

    function SYMBOL() external pure returns (string memory) {
        return "UP";
    }

    function DECIMALS() external pure returns (uint8) {
        return 2;
    }
}

/// name() needs more gas than a batch gives one call, but less than a direct eth_call gets.
contract Heavy {
    uint256 public totalSupply = 1000;

    function name() external view returns (string memory) {
        bytes32 x = bytes32(totalSupply);
        for (uint256 i = 0; i < 30000; i++) {
            x = keccak256(abi.encode(x, i));
        }
        return x == bytes32(0) ? "" : "Heavy";
    }

    function symbol() external pure returns (string memory) {
        return "HVY";
    }
}

/// Reverts with a reason, hits an invalid opcode, returns a few stray bytes.
contract Broken {
    function name() external pure returns (string memory) {
        revert("no name");
    }

    function symbol() external pure returns (string memory) {
        assembly {
            invalid()
        }
    }

    function decimals() external pure returns (uint8) {
        assembly {
            mstore(0, 0x0102030000000000000000000000000000000000000000000000000000000000)
            return(0, 3)
        }
    }

    function totalSupply() external pure returns (uint256) {
        return 7;
    }
}
