// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

/// Many argument-less static calls in one `eth_call`, without deploying anything: ledgerflow
/// sends this contract's creation code plus its constructor arguments as the `data` of an
/// `eth_call` that has no `to`. The constructor makes the calls and hands the answers back
/// as the "deployed code", which the node returns as the call's result (the chain is not
/// changed: it is a call). Used to read token metadata (`symbol()`, `name()`, ...) at an old
/// block, where a node answers one call of 96 in about the time it needs for one.
///
/// Answer: one 0x00 byte (a deployed code may not start with 0xEF, EIP-3541), then per call
///   1 byte   status: 0 reverted, 1 returned, 2 used up its gas cap, 3 not made (the call
///            had too little gas left to give the next call its full cap)
///   4 bytes  the full size of the returned data, big-endian
///   n bytes  the returned data (status 1) or the revert data (status 0), cut at
///            `maxReturn` bytes; nothing for status 2 and 3
/// Whoever reads it makes a call again on its own when the status is 2 or 3 or the data was
/// cut, so that the answers equal what one `eth_call` per function gives.
contract BatchStaticCall {
    constructor(address[] memory targets, bytes4[] memory selectors, uint256 gasPerCall, uint256 maxReturn) {
        require(selectors.length == targets.length);
        // code deposit (200 gas per byte of the answer) plus what the loop and return need
        uint256 needed = gasPerCall + gasPerCall / 63 + 200 * (1 + targets.length * (5 + maxReturn)) + 100000;
        bytes memory out = answers(targets, selectors, gasPerCall, maxReturn, needed);
        assembly {
            return(add(out, 32), mload(out))
        }
    }

    function answers(address[] memory targets, bytes4[] memory selectors, uint256 gasPerCall, uint256 maxReturn, uint256 needed)
        private
        view
        returns (bytes memory out)
    {
        out = new bytes(1 + targets.length * (5 + maxReturn) + 32);
        uint256 p;
        assembly {
            p := add(out, 33) // out[0] stays 0x00
        }
        for (uint256 i = 0; i < targets.length; i++) {
            p = one(p, targets[i], selectors[i], gasPerCall, maxReturn, needed);
        }
        assembly {
            mstore(out, sub(p, add(out, 32)))
        }
    }

    /// Makes one call and writes its record at `p`; returns where the next record goes.
    function one(uint256 p, address target, bytes4 selector, uint256 gasPerCall, uint256 maxReturn, uint256 needed)
        private
        view
        returns (uint256)
    {
        assembly {
            let status := 3
            let size := 0
            if gt(gas(), needed) {
                mstore(0, selector)
                let before := gas()
                status := staticcall(gasPerCall, target, 0, 4, 0, 0)
                let used := sub(before, gas())
                size := returndatasize()
                if iszero(status) {
                    if iszero(lt(used, gasPerCall)) { status := 2 }
                }
            }
            mstore8(p, status)
            mstore(add(p, 1), shl(224, size))
            let k := 0
            if lt(status, 2) {
                k := size
                if gt(k, maxReturn) { k := maxReturn }
                returndatacopy(add(p, 5), 0, k)
            }
            p := add(p, add(5, k))
        }
        return p;
    }
}
